// mmdiff repro. Thin: fuzz/repro.h does the work.
#include <cstdio>
#include <vector>

#include "cli/args.h"
#include "cli/command_setup.h"
#include "cli/commands.h"
#include "cli/output.h"
#include "cli/targets.h"
#include "fuzz/repro.h"
#include "fuzz/repro_build.h"
#include "model/checker.h"
#include "model/mutant.h"

namespace mmdiff::cli {
namespace {

const char kReproUsage[] =
    "usage: mmdiff repro FILE.mmp [-o repro.c] [--op N] [--no-quirks] [--run] [target flags]\n"
    "\n"
    "Writes a standalone C reproducer of the program (libc only; build it with\n"
    "cc -O2 -static -Wall repro.c). It makes the same system calls as the\n"
    "executor, then checks what the program's failure is about and prints\n"
    "'FAIL: page 2: soft-dirty is 0 after a write at step 5 (expected 1: ...)'\n"
    "(exit 1), or 'PASS' (exit 0) on a kernel without the bug; 'SKIP' (exit\n"
    "125) where a required feature is missing. What it checks: the program is\n"
    "run once on the target; a divergence: the diverging field; a failed\n"
    "'=> RESULT': that result; a pass: every '=> RESULT' of the program (or,\n"
    "with --op N, what the model requires of op N).\n"
    "\n"
    "  -o repro.c     write the C there (default: stdout, or nowhere with --run)\n"
    "  --op N         check op N against the model instead\n"
    "  --no-quirks    allow no known kernel quirk (corpus/QUIRKS.md): a known quirk\n"
    "                 is a divergence again (for its reproducer and report)\n"
    "  --run          also build it ($CC, else cc; -O2 -static -Wall) and run it on\n"
    "                 the target's kernel (in the guest with --target qemu); prints\n"
    "                 its output and exits with its status (0 PASS, 1 FAIL, 125 SKIP)\n";

// Builds the C and runs it on the target: the reproducer's exit status, or 2.
int BuildAndRun(const std::string& source, Target* target, const std::string& release) {
  std::vector<uint8_t> binary;
  std::string err;
  if (!CompileRepro(source, {}, &binary, &err)) {
    fprintf(stderr, "mmdiff repro: %s", err.c_str());
    return 2;
  }
  BinaryRun run;
  if (!target->RunBinary(binary, {}, 120000, &run, &err)) {
    fprintf(stderr, "mmdiff repro: cannot run the reproducer on %s: %s\n", release.c_str(), err.c_str());
    return 2;
  }
  fwrite(run.output.data(), 1, run.output.size(), stdout);
  fflush(stdout);
  if (!run.console.empty()) fprintf(stderr, "kernel console:\n%s\n", run.console.c_str());
  std::string outcome = ReproOutcome(run);
  fprintf(stderr, "repro: ran on kernel %s: %s\n", release.c_str(), outcome.c_str());
  if (outcome == "PASS" || outcome == "FAIL" || outcome == "SKIP") return run.exit_code;
  return 1;  // a hang, a crash or a splat is the kernel failing too
}

// --op N: an index into the program's ops; -1 without the flag.
bool OpIndex(const Args& args, const Program& prog, int* op, std::string* err) {
  if (!args.values.count("op")) return true;
  char* end = nullptr;
  long v = strtol(args.Get("op").c_str(), &end, 10);
  if (*end || v < 0 || static_cast<size_t>(v) >= prog.ops.size()) {
    *err = "--op needs an op index below " + std::to_string(prog.ops.size());
    return false;
  }
  *op = static_cast<int>(v);
  return true;
}

}  // namespace

int ReproCommand(int argc, char** argv) {
  int op = -1;
  CommandSpec cmd{.name = "repro", .usage = kReproUsage, .value_flags = {"output", "op"},
                  .switch_flags = {"no-quirks", "run"}, .short_output = true};
  cmd.check_program = [&op](const Args& args, const Program& prog, std::string* err) {
    return OpIndex(args, prog, &op, err) &&
           (!args.Has("run") || NeedsKernel(args, "--run needs a kernel: --target local or --target qemu", err));
  };
  CommandSetup s;
  if (auto exit_code = SetUpCommand(cmd, argc, argv, &s)) return *exit_code;
  const Args& args = s.args;
  const std::string& path = s.path;
  const Program& prog = s.prog;
  Target* target = s.target.get();
  const KernelProfile& profile = s.profile;
  bool run = args.Has("run");
  std::string err;
  KernelFeatures features;  // the kernel's own release (the profile's may be a stand-in: --profile)
  std::string release = target->Probe(&features, &err) ? features.release : profile.release;
  Trace trace;
  Judgement j;
  if (TargetName(args) == "model") {
    trace = PredictTrace(prog, profile);
    j = JudgeModelOnly(prog, profile);
  } else {
    if (!target->Run(prog, &trace, &err)) {
      fprintf(stderr, "mmdiff repro: %s: %s\n", path.c_str(), err.c_str());
      return 2;
    }
    j = JudgeKernelRun(prog, trace, profile);
  }
  ReproSpec spec;
  if (op >= 0) {
    Prediction pred;
    if (!PredictionAt(prog, trace, profile, static_cast<size_t>(op), &pred, &err)) {
      fprintf(stderr, "mmdiff repro: %s\n", err.c_str());
      return 2;
    }
    spec.title = "op " + std::to_string(op) + " against the model (" + (j.line.empty() ? "PASS" : j.line) + ")";
    spec.checks.push_back(CheckFromPrediction(prog, static_cast<size_t>(op), pred));
  } else {
    spec = SpecForJudgement(prog, j);
  }
  if (j.kind == Judgement::Kind::kSkip) {
    fprintf(stderr, "mmdiff repro: %s: skipped on this target (%s)\n", path.c_str(), j.line.c_str());
    return 2;
  }
  if (spec.checks.empty() && j.kind == Judgement::Kind::kPass) {
    fprintf(stderr,
            "mmdiff repro: %s passes on %s and states no '=> RESULT': nothing to check (use --op N)\n",
            path.c_str(), release.c_str());
    return 2;
  }
  spec.notes.insert(spec.notes.begin(), "from " + path + ", run on kernel " + release);
  if (profile.mutant != Mutant::kNone) spec.self_test = MutantName(profile.mutant);
  spec.scan_categories = features.scan_categories;
  std::string source = WriteReproC(prog, spec);
  if ((!run || !args.Get("output").empty()) && !WriteOutput(args.Get("output"), source, &err)) {
    fprintf(stderr, "mmdiff repro: %s\n", err.c_str());
    return 2;
  }
  std::string verdict = j.kind == Judgement::Kind::kFail ? j.line : "PASS";
  if (verdict.size() > 300) verdict = verdict.substr(0, 300) + "...";  // a scan's regions
  fprintf(stderr, "repro: %s; %zu check%s%s%s\n", verdict.c_str(),
          spec.checks.size(), spec.checks.size() == 1 ? "" : "s", args.Get("output").empty() ? "" : "; wrote ",
          args.Get("output").c_str());
  return run ? BuildAndRun(source, target, release) : 0;
}

}  // namespace mmdiff::cli
