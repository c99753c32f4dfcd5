// mmdiff merge: findings of many campaigns (cores, machines) in one place.
#include <cstdio>

#include "cli/args.h"
#include "cli/commands.h"
#include "fuzz/findings.h"

namespace mmdiff::cli {
namespace {

const char kMergeUsage[] =
    "usage: mmdiff merge -o OUT DIR...\n"
    "\n"
    "Merges the findings of campaign directories (mmdiff fuzz --out DIR, from\n"
    "any number of cores or machines) into OUT, deduplicated by divergence\n"
    "signature: one entry per signature with the summed hit count. A signature\n"
    "confirmed in any campaign is a finding; flaky only if flaky everywhere.\n"
    "OUT may be one of the DIRs, or a campaign directory to resume from.\n";

}  // namespace

int MergeCommand(int argc, char** argv) {
  Args args;
  std::string err;
  for (int i = 0; i < argc; i++)
    if (std::string(argv[i]) == "-o") argv[i] = const_cast<char*>("--out");
  if (!ParseArgs(argc, argv, {"out"}, {}, &args, &err)) {
    fprintf(stderr, "mmdiff merge: %s\n%s", err.c_str(), kMergeUsage);
    return 2;
  }
  if (args.Has("help")) {
    fputs(kMergeUsage, stdout);
    return 0;
  }
  if (args.Get("out").empty() || args.positional.empty()) {
    fprintf(stderr, "mmdiff merge: needs -o OUT and at least one DIR\n%s", kMergeUsage);
    return 2;
  }
  MergeStats stats;
  if (!MergeFindingDirs(args.positional, args.Get("out"), &stats, &err)) {
    fprintf(stderr, "mmdiff merge: %s\n", err.c_str());
    return 2;
  }
  printf("merged %zu directories into %s: %zu findings, %zu flaky (%zu duplicate entries folded)\n", stats.dirs,
         args.Get("out").c_str(), stats.findings, stats.flaky, stats.duplicates);
  return 0;
}

}  // namespace mmdiff::cli
