// mmdiff repro. Thin: fuzz/repro.h does the work.
#include <cstdio>
#include <vector>

#include "cli/args.h"
#include "cli/commands.h"
#include "cli/targets.h"
#include "fuzz/repro.h"
#include "fuzz/repro_build.h"
#include "model/checker.h"
#include "prog/text.h"

namespace mmdiff::cli {

// minimize_cmd.cc
std::vector<char*> LongOutputFlag(int argc, char** argv);
bool WriteOutput(const std::string& path, const std::string& text, std::string* err);

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

// What the model requires of op `index`, having followed the kernel's
// answers to the ops before it.
bool PredictionAt(const Program& prog, const Trace& trace, const KernelProfile& profile, size_t index,
                  Prediction* out, std::string* err) {
  Model m(profile);
  for (size_t i = 0; i <= index; i++) {
    Prediction pred = m.Predict(prog.ops[i], i);
    if (!pred.unmodelled.empty()) {
      *err = "the model does not model op " + std::to_string(i) + ": " + pred.unmodelled;
      return false;
    }
    if (i == index) {
      *out = pred;
      return true;
    }
    Result r = i < trace.results.size() ? trace.results[i] : Result{};
    if (r.kind == ResultKind::kNone) r = WithoutQuirks(pred).expected;
    m.Apply(prog.ops[i], i, r);
  }
  return false;
}

}  // namespace

int ReproCommand(int argc, char** argv) {
  Args args;
  std::string err;
  auto value_flags = TargetValueFlags();
  value_flags.insert({"output", "op"});
  std::vector<char*> av = LongOutputFlag(argc, argv);
  if (!ParseArgs(static_cast<int>(av.size()), av.data(), value_flags, {"no-quirks", "run"}, &args, &err)) {
    fprintf(stderr, "mmdiff repro: %s\n%s%s", err.c_str(), kReproUsage, kTargetFlagsHelp);
    return 2;
  }
  if (args.Has("help")) {
    printf("%s%s", kReproUsage, kTargetFlagsHelp);
    return 0;
  }
  if (args.positional.size() != 1) {
    fprintf(stderr, "mmdiff repro: expected one program file\n%s", kReproUsage);
    return 2;
  }
  const std::string& path = args.positional[0];
  Program prog;
  TextError text_err;
  if (!ParseProgramFile(path, &prog, &text_err)) {
    fprintf(stderr, "%s\n", text_err.ToString().c_str());
    return 2;
  }
  int op = -1;
  if (args.values.count("op")) {
    char* end = nullptr;
    long v = strtol(args.Get("op").c_str(), &end, 10);
    if (*end || v < 0 || static_cast<size_t>(v) >= prog.ops.size()) {
      fprintf(stderr, "mmdiff repro: --op needs an op index below %zu\n", prog.ops.size());
      return 2;
    }
    op = static_cast<int>(v);
  }
  bool run = args.Has("run");
  if (run && TargetName(args) == "model") {
    fprintf(stderr, "mmdiff repro: --run needs a kernel: --target local or --target qemu\n");
    return 2;
  }
  auto target = OpenTarget(args, &err);
  KernelProfile profile;
  if (!target || !ProfileFor(args, target.get(), &profile, &err)) {
    fprintf(stderr, "mmdiff repro: %s\n", err.c_str());
    return 2;
  }
  if (args.Has("no-quirks")) profile.quirks = {};
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
  return run ? BuildAndRun(source, target.get(), release) : 0;
}

}  // namespace mmdiff::cli
