// mmdiff minimize. Thin: fuzz/minimize.h does the work.
#include <signal.h>

#include <atomic>
#include <cstdio>

#include "cli/args.h"
#include "cli/command_setup.h"
#include "cli/commands.h"
#include "cli/output.h"
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
    "had it). A divergence that a scan or an access (only the uffd fault it\n"
    "raised) shows is kept through a pagemap read of its pages in its place\n"
    "where that read diverges too: the same wrong state, the simplest observer\n"
    "(its signature then names the read). Every candidate is checked on the model\n"
    "first, then run on the target. One line per accepted step on stderr. The\n"
    "result is run N more times and its reliability printed (k/N). Ctrl-C\n"
    "stops and writes the smallest program so far. With --target model, the\n"
    "failure kept is a program's expectation that the model contradicts. Exit\n"
    "status 0 when written, 2 on bad usage or input, a program that does not\n"
    "fail included.\n"
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

int MinimizeCommand(int argc, char** argv) {
  int runs = 0;
  CommandSpec cmd{.name = "minimize", .usage = kMinimizeUsage, .value_flags = {"output", "runs"},
                  .switch_flags = {"no-quirks"}, .short_output = true};
  cmd.check_args = [&runs](const Args& args, std::string* err) { return args.GetInt("runs", 5, &runs, err); };
  CommandSetup s;
  if (auto exit_code = SetUpCommand(cmd, argc, argv, &s)) return *exit_code;
  const Args& args = s.args;
  const std::string& path = s.path;
  const Program& prog = s.prog;
  const KernelProfile& profile = s.profile;
  std::string err;
  KernelFeatures features;  // the kernel's own release (the profile's may be a stand-in: --profile)
  std::string release = s.target->Probe(&features, &err) ? features.release : profile.release;
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
    auto still_fails = [&](const Program& c) { return MinimizeSignature(JudgeModelOnly(c, profile)) == sig; };
    result = Minimize(prog, still_fails, &stats, &g_stop);
    if (!g_stop.load()) result = DropUnneededRequires(result, profile, still_fails);
    stats.ops_after = result.ops.size();
    header = "# " + JudgeModelOnly(result, profile).line + "\n";
  } else {
    TargetMinimizeOptions options;
    options.confirm_runs = runs;
    TargetMinimizeResult out;
    if (!MinimizeOnTarget(prog, s.target.get(), profile, options, &stats, &g_stop, &out, &err)) {
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
