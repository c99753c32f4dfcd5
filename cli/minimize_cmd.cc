// mmdiff minimize. Thin: fuzz/minimize.h does the work.
#include <signal.h>

#include <atomic>
#include <cstdio>
#include <fstream>
#include <vector>

#include "cli/args.h"
#include "cli/commands.h"
#include "cli/targets.h"
#include "fuzz/minimize.h"
#include "prog/text.h"

namespace mmdiff::cli {
namespace {

const char kMinimizeUsage[] =
    "usage: mmdiff minimize FILE.mmp [-o OUT.mmp] [--runs N] [--no-quirks] [target flags]\n"
    "\n"
    "Reduces a program that fails on the target (a divergence from the model, a\n"
    "failed '=> RESULT', a kernel splat or hang) while it keeps failing the same\n"
    "way (the same divergence signature): removes processes and ops, uffd setup\n"
    "it does not need, shrinks ranges and page counts, simplifies prot, backing\n"
    "and options, renumbers pages from 0 (2 MiB alignment kept where the program\n"
    "had it). Every candidate is checked on the model first, then run on the\n"
    "target. One line per accepted step on stderr. The result is run N more\n"
    "times and its reliability printed (k/N). Ctrl-C stops and writes the\n"
    "smallest program so far. With --target model, the failure kept is a\n"
    "program's expectation that the model contradicts.\n"
    "\n"
    "  -o OUT.mmp     write the result there (default: stdout)\n"
    "  --runs N       confirmation runs of the result (default 5)\n"
    "  --no-quirks    allow no known kernel quirk (corpus/QUIRKS.md): a known quirk\n"
    "                 is a divergence again (for its reproducer and report)\n";

std::atomic<bool> g_stop{false};

void OnSigint(int) {
  g_stop.store(true);
  signal(SIGINT, SIG_DFL);  // a second Ctrl-C ends at once
}

}  // namespace

// Shared with repro_cmd.cc and report_cmd.cc (declared there).
// "-o FILE" → "--output FILE" (ParseArgs knows long options only).
std::vector<char*> LongOutputFlag(int argc, char** argv) {
  static char kOutput[] = "--output";
  std::vector<char*> out(argv, argv + argc);
  for (char*& a : out)
    if (std::string(a) == "-o") a = kOutput;
  return out;
}

bool WriteOutput(const std::string& path, const std::string& text, std::string* err) {
  if (path.empty() || path == "-") {
    fputs(text.c_str(), stdout);
    return true;
  }
  std::ofstream out(path);
  out << text;
  if (!out.flush()) {
    *err = "cannot write " + path;
    return false;
  }
  return true;
}

int MinimizeCommand(int argc, char** argv) {
  Args args;
  std::string err;
  auto value_flags = TargetValueFlags();
  value_flags.insert({"output", "runs"});
  std::vector<char*> av = LongOutputFlag(argc, argv);
  if (!ParseArgs(static_cast<int>(av.size()), av.data(), value_flags, {"no-quirks"}, &args, &err)) {
    fprintf(stderr, "mmdiff minimize: %s\n%s%s", err.c_str(), kMinimizeUsage, kTargetFlagsHelp);
    return 2;
  }
  if (args.Has("help")) {
    printf("%s%s", kMinimizeUsage, kTargetFlagsHelp);
    return 0;
  }
  if (args.positional.size() != 1) {
    fprintf(stderr, "mmdiff minimize: expected one program file\n%s", kMinimizeUsage);
    return 2;
  }
  int runs;
  if (!args.GetInt("runs", 5, &runs, &err)) {
    fprintf(stderr, "mmdiff minimize: %s\n", err.c_str());
    return 2;
  }
  const std::string& path = args.positional[0];
  Program prog;
  TextError text_err;
  if (!ParseProgramFile(path, &prog, &text_err)) {
    fprintf(stderr, "%s\n", text_err.ToString().c_str());
    return 2;
  }
  auto target = OpenTarget(args, &err);
  KernelProfile profile;
  if (!target || !ProfileFor(args, target.get(), &profile, &err)) {
    fprintf(stderr, "mmdiff minimize: %s\n", err.c_str());
    return 2;
  }
  if (args.Has("no-quirks")) profile.quirks = {};
  KernelFeatures features;  // the kernel's own release (the profile's may be a stand-in: --profile)
  std::string release = target->Probe(&features, &err) ? features.release : profile.release;
  signal(SIGINT, OnSigint);
  signal(SIGTERM, OnSigint);
  MinimizeStats stats;
  stats.on_step = [&stats](const std::string& step, const Program& now) {
    fprintf(stderr, "minimize: %3zu ops (attempt %d): %s\n", now.ops.size(), stats.attempts, step.c_str());
  };
  std::string header;
  Program result;
  int status = 0;
  if (TargetName(args) == "model") {
    Judgement j = JudgeModelOnly(prog, profile);
    std::string sig = MinimizeSignature(j);
    if (sig.empty()) {
      fprintf(stderr, "mmdiff minimize: %s: the model agrees with every expectation (%s)\n", path.c_str(),
              j.line.empty() ? "PASS" : j.line.c_str());
      return 2;
    }
    result = Minimize(prog, [&](const Program& c) { return MinimizeSignature(JudgeModelOnly(c, profile)) == sig; },
                      &stats, &g_stop);
    header = "# " + JudgeModelOnly(result, profile).line + "\n";
  } else {
    TargetMinimizeOptions options;
    options.confirm_runs = runs;
    TargetMinimizeResult out;
    if (!MinimizeOnTarget(prog, target.get(), profile, options, &stats, &g_stop, &out, &err)) {
      fprintf(stderr, "mmdiff minimize: %s: %s\n", path.c_str(), err.c_str());
      return 2;
    }
    result = out.program;
    header = "# " + out.judgement.line + "\n# signature: " + out.signature + "\n";
    if (out.runs > 0) {
      header += "# kernel " + release + ": reproduced " + std::to_string(out.reproduced) + "/" +
                std::to_string(out.runs) + "\n";
      fprintf(stderr, "minimize: reproduced %d/%d on %s\n", out.reproduced, out.runs, release.c_str());
    }
  }
  header = "# minimized by mmdiff from " + path + ": " + std::to_string(stats.ops_before) + " -> " +
           std::to_string(stats.ops_after) + " ops, " + std::to_string(stats.attempts) + " candidates tried\n" +
           header;
  if (stats.interrupted) {
    header += "# interrupted: the smallest program found so far\n";
    fprintf(stderr, "minimize: interrupted; writing the smallest program found so far\n");
  }
  if (!WriteOutput(args.Get("output"), header + PrintProgram(result), &err)) {
    fprintf(stderr, "mmdiff minimize: %s\n", err.c_str());
    return 2;
  }
  fprintf(stderr, "minimize: %zu -> %zu ops%s%s\n", stats.ops_before, stats.ops_after,
          args.Get("output").empty() ? "" : ", wrote ", args.Get("output").c_str());
  return status;
}

}  // namespace mmdiff::cli
