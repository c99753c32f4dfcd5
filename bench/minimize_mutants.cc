// Minimization on the divergences the model mutants produce (issue target:
// at most 8 ops each, under 60 s each on the local target). For each mutant
// observable here: a campaign with no seeds until its first confirmed
// finding, then MinimizeOnTarget on that finding; prints ops before/after,
// the minimization's wall time and its reliability.
#include <time.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstring>
#include <string>

#include "fuzz/campaign.h"
#include "fuzz/minimize.h"
#include "model/mutant.h"
#include "prog/text.h"

namespace {

double Now() {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec * 1e-9;
}

}  // namespace

int main() {
  using namespace mmdiff;
  TargetOptions options;
  options.executor_path = MMDIFF_EXECUTOR_PATH;
  std::string err;
  TargetPool pool;
  if (!pool.Start([&](std::string* e) { return MakeLocalTarget(options, e); }, 1, &err)) {
    fprintf(stderr, "local target: %s\n", err.c_str());
    return 1;
  }
  KernelFeatures features;
  if (!pool.first()->Probe(&features, &err)) return 1;
  printf("%-28s %8s %8s %10s %11s\n", "mutant", "ops", "min ops", "min time", "reproduced");
  bool met = true;
  for (const MutantInfo& m : AllMutants()) {
    if (m.needs_soft_dirty && !(features.features & kFeatSoftDirty)) continue;
    KernelProfile profile = MakeProfile(features);
    profile.mutant = m.mutant;
    char dir[] = "/tmp/mmdiff-bench-min.XXXXXX";
    if (!mkdtemp(dir)) return 1;
    CampaignOptions co;
    co.out_dir = dir;
    co.seed = 1;
    co.max_seconds = 60;
    co.until_found = true;
    co.status_every_s = 3600;
    std::atomic<bool> stop{false};
    CampaignStats stats;
    if (!RunCampaign(co, &pool, profile, stop, &stats, &err)) return 1;
    std::string program_path;
    // The first finding's program.mmp.
    FILE* ls = popen(("ls -d " + std::string(dir) + "/findings/*/program.mmp 2>/dev/null | head -1").c_str(), "r");
    char line[512] = {0};
    if (ls && fgets(line, sizeof line, ls)) program_path = std::string(line, strcspn(line, "\n"));
    if (ls) pclose(ls);
    Program prog;
    TextError te;
    if (program_path.empty() || !ParseProgramFile(program_path, &prog, &te)) {
      printf("%-28s not found in 60 s\n", m.name);
      met = false;
      continue;
    }
    MinimizeStats ms;
    TargetMinimizeResult r;
    double t0 = Now();
    bool ok = MinimizeOnTarget(prog, pool.first(), profile, {}, &ms, &stop, &r, &err);
    double took = Now() - t0;
    if (!ok) {
      printf("%-28s minimize failed: %s\n", m.name, err.c_str());
      met = false;
      continue;
    }
    printf("%-28s %8zu %8zu %9.1fs %8d/%d\n", m.name, prog.ops.size(), r.program.ops.size(), took, r.reproduced,
           r.runs);
    met = met && r.program.ops.size() <= 8 && took < 60;
  }
  printf("target: at most 8 ops and under 60 s for each: %s\n", met ? "MET" : "NOT MET");
  return 0;
}
