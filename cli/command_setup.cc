#include "cli/command_setup.h"

#include <cstdio>
#include <vector>

#include "cli/output.h"
#include "cli/targets.h"
#include "prog/text.h"

namespace mmdiff::cli {

bool NeedsKernel(const Args& args, const std::string& message, std::string* err) {
  if (TargetName(args) != "model") return true;
  *err = message;
  return false;
}

std::optional<int> SetUpCommand(const CommandSpec& spec, int argc, char** argv, CommandSetup* out) {
  Args& args = out->args;
  std::string err;
  auto fail = [&spec](const std::string& message) {
    fprintf(stderr, "mmdiff %s: %s\n", spec.name, message.c_str());
    return 2;
  };
  std::set<std::string> value_flags = TargetValueFlags(), switch_flags = TargetSwitchFlags();
  value_flags.insert(spec.value_flags.begin(), spec.value_flags.end());
  switch_flags.insert(spec.switch_flags.begin(), spec.switch_flags.end());
  std::vector<char*> av = spec.short_output ? LongOutputFlag(argc, argv) : std::vector<char*>(argv, argv + argc);
  if (!ParseArgs(static_cast<int>(av.size()), av.data(), value_flags, switch_flags, &args, &err)) {
    fprintf(stderr, "mmdiff %s: %s\n%s%s", spec.name, err.c_str(), spec.usage, kTargetFlagsHelp);
    return 2;
  }
  if (args.Has("help")) {
    printf("%s%s", spec.usage, kTargetFlagsHelp);
    return 0;
  }
  if (args.positional.size() != 1) {
    fprintf(stderr, "mmdiff %s: expected one program file\n%s", spec.name, spec.usage);
    return 2;
  }
  if (spec.check_args && !spec.check_args(args, &err)) return fail(err);
  out->path = args.positional[0];
  TextError text_err;
  if (!ParseProgramFile(out->path, &out->prog, &text_err)) {
    fprintf(stderr, "%s\n", text_err.ToString().c_str());
    return 2;
  }
  if (spec.check_program && !spec.check_program(args, out->prog, &err)) return fail(err);
  out->target = OpenTarget(args, &err);
  if (!out->target || (spec.probe && !out->target->Probe(&out->features, &err)) ||
      !ProfileFor(args, out->target.get(), &out->profile, &err))
    return fail(err);
  return std::nullopt;
}

}  // namespace mmdiff::cli
