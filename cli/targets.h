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
bool TargetOptionsFromArgs(const Args& args, TargetOptions* out, std::string* err);
std::unique_ptr<Target> OpenTarget(const Args& args, std::string* err);
bool OpenPool(const Args& args, TargetPool* pool, std::string* err);

// The model's kernel profile: --profile host618|guest61, else measured by
// `target` (for --target model: the local kernel). With --no-quirks (where
// the command takes it) it has no known quirks: a kernel answer that needs
// one is a divergence again (corpus/QUIRKS.md).
bool ProfileFor(const Args& args, Target* target, KernelProfile* out, std::string* err);

}  // namespace mmdiff::cli
