// The preamble shared by the subcommands that take one program file (run,
// repro, minimize, report), so that their flags, --help, usage errors and
// target errors read the same: flags, the program, the target, its profile.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <set>
#include <string>

#include "cli/args.h"
#include "model/profile.h"
#include "prog/program.h"
#include "target/target.h"

namespace mmdiff::cli {

struct CommandSpec {
  const char* name;   // messages start "mmdiff NAME: "
  const char* usage;  // printed before kTargetFlagsHelp
  std::set<std::string> value_flags;  // besides TargetValueFlags()
  std::set<std::string> switch_flags;
  bool short_output = false;  // "-o FILE" is "--output FILE"
  // A command's own refusals, false with the message: those that need no
  // program come before it is read; those that need no target before one is
  // opened (which may boot a guest).
  std::function<bool(const Args&, std::string* err)> check_args;
  std::function<bool(const Args&, const Program&, std::string* err)> check_program;
  // Probe the target into CommandSetup::features before its profile; a
  // target that cannot answer is an error.
  bool probe = false;
};

struct CommandSetup {
  Args args;
  std::string path;  // the program file
  Program prog;
  std::unique_ptr<Target> target;
  KernelProfile profile;    // with --no-quirks (where the command takes it): no quirks
  KernelFeatures features;  // with CommandSpec::probe
};

// For a check: false with `err` set to `message` under --target model, which
// has no kernel to run anything on.
bool NeedsKernel(const Args& args, const std::string& message, std::string* err);

// The exit code when the command is done here (0 after --help; 2 after a
// usage, program or target error, printed), else nullopt with `out` filled.
std::optional<int> SetUpCommand(const CommandSpec& spec, int argc, char** argv, CommandSetup* out);

}  // namespace mmdiff::cli
