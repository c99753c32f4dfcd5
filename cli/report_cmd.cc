// mmdiff report. Thin: fuzz/report.h (and fuzz/minimize.h) do the work.
#include <signal.h>

#include <atomic>
#include <cstdio>

#include "cli/args.h"
#include "cli/command_setup.h"
#include "cli/commands.h"
#include "cli/output.h"
#include "cli/targets.h"
#include "fuzz/minimize.h"
#include "fuzz/report.h"

namespace mmdiff::cli {
namespace {

const char kReportUsage[] =
    "usage: mmdiff report FILE.mmp [-o report.txt] [--runs N] [--minimize] [--no-quirks] [target flags]\n"
    "\n"
    "Writes the text of a linux-mm bug report for a program that fails on the\n"
    "target: a subject line, the kernel release and its probed features, what\n"
    "the documentation promises (the sentence quoted, with its file), what the\n"
    "kernel did instead, the steps as .mmp lines with the system call each\n"
    "makes and the kernel's answer, the address space before and after the\n"
    "diverging step, and the C reproducer. The program should be minimized\n"
    "first (mmdiff minimize), or pass --minimize. Exit status 0 when written,\n"
    "2 on bad usage or input, a program that does not fail included.\n"
    "\n"
    "  -o report.txt  write the report there (default: stdout)\n"
    "  --runs N       runs for the reliability line (default 3)\n"
    "  --minimize     minimize the program first (progress on stderr)\n"
    "  --no-quirks    allow no known kernel quirk (corpus/QUIRKS.md): a known quirk\n"
    "                 is a divergence again (for its reproducer and report)\n";

std::atomic<bool> g_stop{false};

void OnSigint(int) {
  g_stop.store(true);
  signal(SIGINT, SIG_DFL);
}

}  // namespace

int ReportCommand(int argc, char** argv) {
  int runs = 0;
  CommandSpec cmd{.name = "report", .usage = kReportUsage, .value_flags = {"output", "runs"},
                  .switch_flags = {"minimize", "no-quirks"}, .short_output = true, .probe = true};
  cmd.check_args = [&runs](const Args& args, std::string* err) {
    return args.GetInt("runs", 3, &runs, err) &&
           NeedsKernel(args, "a report needs a kernel: --target local or qemu", err);
  };
  CommandSetup s;
  if (auto exit_code = SetUpCommand(cmd, argc, argv, &s)) return *exit_code;
  const Args& args = s.args;
  const std::string& path = s.path;
  Target* target = s.target.get();
  ReportInput in;
  in.prog = std::move(s.prog);
  in.features = s.features;
  in.profile = s.profile;
  std::string err;
  if (args.Has("minimize")) {
    signal(SIGINT, OnSigint);
    MinimizeStats stats;
    stats.on_step = [&stats](const std::string& step, const Program& now) {
      fprintf(stderr, "minimize: %3zu ops (attempt %d): %s\n", now.ops.size(), stats.attempts, step.c_str());
    };
    TargetMinimizeOptions options;
    options.confirm_runs = runs;
    TargetMinimizeResult out;
    if (!MinimizeOnTarget(in.prog, target, in.profile, options, &stats, &g_stop, &out, &err)) {
      fprintf(stderr, "mmdiff report: %s: %s\n", path.c_str(), err.c_str());
      return 2;
    }
    in.prog = out.program;
    in.trace = out.trace;
    in.judgement = out.judgement;
    in.reproduced = out.reproduced;
    in.runs = out.runs;
  } else {
    std::string sig;
    for (int r = 0; r < runs; r++) {
      Trace t;
      if (!target->Run(in.prog, &t, &err)) {
        fprintf(stderr, "mmdiff report: %s: %s\n", path.c_str(), err.c_str());
        return 2;
      }
      Judgement j = JudgeKernelRun(in.prog, t, in.profile);
      if (r == 0) {
        in.trace = t;
        in.judgement = j;
        sig = MinimizeSignature(j);
        if (sig.empty()) {
          // Nothing to report is bad input, as for minimize and repro.
          fprintf(stderr, "mmdiff report: %s does not fail on kernel %s (%s): nothing to report\n", path.c_str(),
                  in.features.release.c_str(), j.line.empty() ? "PASS" : j.line.c_str());
          return 2;
        }
      }
      in.runs++;
      in.reproduced += MinimizeSignature(j) == sig;
    }
  }
  if (!WriteOutput(args.Get("output"), WriteReport(in), &err)) {
    fprintf(stderr, "mmdiff report: %s\n", err.c_str());
    return 2;
  }
  return 0;
}

}  // namespace mmdiff::cli
