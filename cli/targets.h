// Target selection shared by the subcommands: --target local|qemu|model,
// --guest, --kernel, --append, --timeout, --vms, --profile.
#pragma once

#include <memory>
#include <string>

#include "cli/args.h"
#include "model/profile.h"
#include "target/pool.h"
#include "target/target.h"

namespace mmdiff::cli {

// The flags every target-taking subcommand accepts, and their help text.
extern const char kTargetFlagsHelp[];
std::set<std::string> TargetValueFlags();
std::set<std::string> TargetSwitchFlags();  // --pin-fault-around


// "local" (default; "qemu" when --guest, --kernel or --append is given), "qemu" or "model".
std::string TargetName(const Args& args);
// Fills the fields the flags choose; the others of `*out` are kept.
bool TargetOptionsFromArgs(const Args& args, TargetOptions* out, std::string* err);
// `base`: the options the flags start from (the engines' executor path).
std::unique_ptr<Target> OpenTarget(const Args& args, std::string* err, const TargetOptions& base = {});
bool OpenPool(const Args& args, TargetPool* pool, std::string* err, const TargetOptions& base = {});

// The libFuzzer and AFL++ engines have no command line of their own: they
// take the same target flags from the environment, MMDIFF_ and the flag's
// name in capitals with '_' for '-' (MMDIFF_TARGET=local|qemu, MMDIFF_GUEST,
// MMDIFF_KERNEL, MMDIFF_APPEND, MMDIFF_SWAP, MMDIFF_TIMEOUT,
// MMDIFF_MEMORY_MAX, MMDIFF_PROFILE, MMDIFF_MODEL_MUTANT; a switch when set
// to anything but "" or "0": MMDIFF_NO_QUIRKS, MMDIFF_PIN_FAULT_AROUND), as
// the Args the same flags would give. `getenv` is a parameter for the tests.
Args TargetArgsFromEnvironment(const char* (*getenv_fn)(const char*) = nullptr);
// The variable that carries `flag` ("model-mutant": "MMDIFF_MODEL_MUTANT").
std::string TargetEnvName(const std::string& flag);

// The model's kernel profile: --profile host618|guest61, else measured by
// `target` (for --target model: the local kernel). With --no-quirks (where
// the command takes it) it has no known quirks: a kernel answer that needs
// one is a divergence again (corpus/QUIRKS.md).
bool ProfileFor(const Args& args, Target* target, KernelProfile* out, std::string* err);

}  // namespace mmdiff::cli
