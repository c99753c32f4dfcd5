// mmdiff merge: findings of many campaigns (cores, machines) and of the
// libFuzzer and AFL++ engines in one place.
#include <signal.h>

#include <atomic>
#include <cstdio>

#include "cli/args.h"
#include "cli/commands.h"
#include "cli/targets.h"
#include "fuzz/engine_crashes.h"
#include "fuzz/findings.h"
#include "model/mutant.h"

namespace mmdiff::cli {
namespace {

const char kMergeUsage[] =
    "usage: mmdiff merge -o OUT DIR... [--target local|qemu] [--guest G | --kernel K]\n"
    "                    [--model-mutant NAME] [--no-quirks] [--no-minimize]\n"
    "\n"
    "Merges the findings of campaign directories (mmdiff fuzz --out DIR, from\n"
    "any number of cores or machines) into OUT, deduplicated by divergence\n"
    "signature: one entry per signature with the summed hit count. A signature\n"
    "confirmed in any campaign is a finding; flaky only if flaky everywhere.\n"
    "OUT may be one of the DIRs, or a campaign directory to resume from.\n"
    "\n"
    "A DIR without findings/ is an engine's: libFuzzer's artifacts (crash-*,\n"
    "leak-*, timeout-* in the -artifact_prefix directory) or an AFL++ sync or\n"
    "output directory (NAME/crashes/id:*, NAME/hangs/id:*; or one instance's\n"
    "crashes/ and hangs/). Each crash file is decoded as the engine's harness\n"
    "decodes it, run on the target (the same flags as mmdiff fuzz; default the\n"
    "local kernel) until it fails, at most 3 times, and the failure confirmed\n"
    "as a campaign confirms one: the same signature on every run is a finding,\n"
    "else flaky; a crash that never fails here is reported and skipped. Filed\n"
    "under the same signatures as mmdiff fuzz findings (a hit of an existing\n"
    "one, or a new entry with program.mmp, meta.txt and, once minimized on the\n"
    "target, min.mmp, repro.c and report.txt). Give the engines' own target\n"
    "and --model-mutant: crashes of a mutant engine (MMDIFF_MODEL_MUTANT) are\n"
    "self-test findings, labelled and kept apart as a mutant campaign's are.\n"
    "One line per crash file on stdout, then the totals.\n"
    "\n"
    "  -o OUT, --out OUT  the merged findings directory\n"
    "  --no-minimize  do not minimize new findings from crash files\n"
    "  --no-quirks    allow no known kernel quirk (corpus/QUIRKS.md)\n";

std::atomic<bool> g_stop{false};

void OnSigint(int) {
  g_stop.store(true);
  signal(SIGINT, SIG_DFL);
}

}  // namespace

int MergeCommand(int argc, char** argv) {
  Args args;
  std::string err;
  for (int i = 0; i < argc; i++)
    if (std::string(argv[i]) == "-o") argv[i] = const_cast<char*>("--out");
  auto value_flags = TargetValueFlags();
  value_flags.insert("out");
  auto switch_flags = TargetSwitchFlags();
  switch_flags.insert({"no-quirks", "no-minimize"});
  if (!ParseArgs(argc, argv, value_flags, switch_flags, &args, &err)) {
    fprintf(stderr, "mmdiff merge: %s\n%s", err.c_str(), kMergeUsage);
    return 2;
  }
  if (args.Has("help")) {
    printf("%s\n%s", kMergeUsage, kTargetFlagsHelp);
    return 0;
  }
  if (args.Get("out").empty() || args.positional.empty()) {
    fprintf(stderr, "mmdiff merge: needs -o OUT and at least one DIR\n%s", kMergeUsage);
    return 2;
  }
  const std::string out = args.Get("out");
  std::vector<std::string> campaigns, crash_files;
  for (const std::string& dir : args.positional) {
    if (IsCampaignDir(dir)) {
      campaigns.push_back(dir);
    } else if (!EngineCrashFiles(dir, &crash_files, &err)) {
      fprintf(stderr, "mmdiff merge: %s\n", err.c_str());
      return 2;
    }
  }
  MergeStats stats;
  if (!campaigns.empty()) {
    if (!MergeFindingDirs(campaigns, out, &stats, &err)) {
      fprintf(stderr, "mmdiff merge: %s\n", err.c_str());
      return 2;
    }
    printf("merged %zu directories into %s: %zu findings, %zu flaky (%zu duplicate entries folded)\n", stats.dirs,
           out.c_str(), stats.findings, stats.flaky, stats.duplicates);
  }
  if (campaigns.size() == args.positional.size()) return 0;
  // Engine directories: their crash files are re-run on the target.
  if (crash_files.empty()) {
    FindingStore store;
    if (!store.Open(out, &err)) {
      fprintf(stderr, "mmdiff merge: %s\n", err.c_str());
      return 2;
    }
    printf("no engine crash files; %s: %zu findings, %zu flaky\n", out.c_str(), store.unique(), store.flaky());
    return 0;
  }
  if (TargetName(args) == "model") {
    fprintf(stderr, "mmdiff merge: crash files are confirmed on a kernel: --target local or qemu\n");
    return 2;
  }
  std::unique_ptr<Target> target = OpenTarget(args, &err);
  KernelProfile profile;
  if (!target || !ProfileFor(args, target.get(), &profile, &err)) {
    fprintf(stderr, "mmdiff merge: %s\n", err.c_str());
    return 2;
  }
  FindingStore store;
  if (!store.Open(out, &err)) {
    fprintf(stderr, "mmdiff merge: %s\n", err.c_str());
    return 2;
  }
  if (profile.mutant != Mutant::kNone) store.SetMutant(std::string(MutantName(profile.mutant)));
  CrashIntakeOptions options;
  options.minimize = !args.Has("no-minimize");
  options.stop = &g_stop;
  signal(SIGINT, OnSigint);
  signal(SIGTERM, OnSigint);
  CrashIntakeStats c;
  TakeInEngineCrashes(crash_files, &store, target.get(), profile, options, &c);
  printf("%zu engine crash files into %s (%s): %zu recorded (%zu new findings, %zu new flaky), %zu did not fail, "
         "%zu undecodable, %zu target errors\n",
         c.files, out.c_str(), profile.release.c_str(), c.recorded, c.new_findings, c.new_flaky, c.not_reproduced,
         c.undecodable, c.target_errors);
  printf("%s: %zu findings, %zu flaky\n", out.c_str(), store.unique(), store.flaky());
  return 0;
}

}  // namespace mmdiff::cli
