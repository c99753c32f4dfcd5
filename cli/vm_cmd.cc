// mmdiff vm: boot a guest and keep it, running programs typed on stdin.
#include <cstdio>
#include <fstream>
#include <iostream>
#include <iterator>
#include <sstream>

#include "cli/args.h"
#include "cli/commands.h"
#include "cli/targets.h"
#include "model/judge.h"
#include "prog/text.h"

namespace mmdiff::cli {
namespace {

const char kVmUsage[] =
    "usage: mmdiff vm [--guest 6.12|6.1 | --kernel K] [--append A] [--timeout MS] [target flags]\n"
    "\n"
    "Boots a guest (Debian's 6.12 cloud kernel unless --guest or --kernel) and\n"
    "keeps it. Prints what the guest kernel supports, then reads lines from\n"
    "stdin: a .mmp path runs that program in the guest and prints its results\n"
    "and verdict, as 'mmdiff run' does; 'exec FILE [ARG...]' runs a static\n"
    "binary of the host (a test of your own: cc -static) in the guest, killed\n"
    "after 120 s, and prints its output, its exit status and any kernel splat;\n"
    "'probe' prints the features again; EOF (Ctrl-D) or 'quit' shuts the guest\n"
    "down. A guest that panics or hangs is rebooted before the next program.\n";

void PrintRun(const Program& prog, const Trace& trace, const KernelProfile& profile) {
  for (size_t i = 0; i < prog.ops.size(); i++) {
    std::string line = PrintOp(prog.ops[i]);
    if (trace.results[i].kind != ResultKind::kNone) line += " => " + PrintResult(prog.ops[i], trace.results[i]);
    printf("%s\n", line.c_str());
  }
  Judgement j = JudgeKernelRun(prog, trace, profile);
  printf("# verdict: %s\n", j.kind == Judgement::Kind::kPass ? "PASS" : j.line.c_str());
  if (!j.detail.empty()) printf("%s\n", j.detail.c_str());
}

// `exec FILE [ARG...]`: the binary run in the guest, as `mmdiff repro --run` runs a reproducer.
void ExecInGuest(const std::string& line, Target* target) {
  std::istringstream in(line.substr(4));
  std::string file, arg;
  std::vector<std::string> args;
  in >> file;
  while (in >> arg) args.push_back(arg);
  std::ifstream f(file, std::ios::binary);
  if (file.empty() || !f) {
    printf("error: exec: cannot read '%s'\n", file.c_str());
    return;
  }
  std::vector<uint8_t> binary((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  BinaryRun run;
  std::string err;
  if (!target->RunBinary(binary, args, 120000, &run, &err)) {
    printf("error: exec %s: %s\n", file.c_str(), err.c_str());
    return;
  }
  fwrite(run.output.data(), 1, run.output.size(), stdout);
  if (!run.console.empty()) printf("# kernel console:\n%s\n", run.console.c_str());
  if (run.timed_out) printf("# exec %s: killed after 120 s\n", file.c_str());
  else if (run.exit_code < 0) printf("# exec %s: signal %d\n", file.c_str(), run.signal);
  else printf("# exec %s: exit %d\n", file.c_str(), run.exit_code);
}

}  // namespace

int VmCommand(int argc, char** argv) {
  Args args;
  std::string err;
  if (!ParseArgs(argc, argv, TargetValueFlags(), TargetSwitchFlags(), &args, &err)) {
    fprintf(stderr, "mmdiff vm: %s\n%s", err.c_str(), kVmUsage);
    return 2;
  }
  if (args.Has("help")) {
    fputs(kVmUsage, stdout);
    return 0;
  }
  args.values["target"] = "qemu";
  auto target = OpenTarget(args, &err);
  KernelFeatures features;
  if (!target || !target->Probe(&features, &err)) {
    fprintf(stderr, "mmdiff vm: %s\n", err.c_str());
    return 2;
  }
  KernelProfile profile = MakeProfile(features);
  fputs(PrintFeatures(features).c_str(), stdout);
  printf("ready: type a .mmp path, 'exec FILE [ARG...]', 'probe', or 'quit'\n");
  fflush(stdout);
  std::string line;
  while (std::getline(std::cin, line)) {
    if (line.empty()) continue;
    if (line == "quit" || line == "exit") break;
    if (line.rfind("exec ", 0) == 0) {
      ExecInGuest(line, target.get());
    } else if (line == "probe") {
      if (target->Probe(&features, &err)) fputs(PrintFeatures(features).c_str(), stdout);
      else printf("error: %s\n", err.c_str());
    } else {
      Program prog;
      TextError text_err;
      Trace trace;
      if (!ParseProgramFile(line, &prog, &text_err)) printf("%s\n", text_err.ToString().c_str());
      else if (uint32_t missing = prog.Requires() & ~features.features)
        printf("SKIP %s: needs %s\n", line.c_str(), FeatureList(missing).c_str());
      else if (!target->Run(prog, &trace, &err)) printf("error: %s\n", err.c_str());
      else PrintRun(prog, trace, profile);
    }
    fflush(stdout);
  }
  return 0;
}

}  // namespace mmdiff::cli
