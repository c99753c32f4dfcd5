// Minimization on the divergences the model mutants produce (issue target:
// at most 8 ops each, under 60 s each on the local target). For each mutant
// observable on the target: a campaign with no seeds until its first
// confirmed finding, then MinimizeOnTarget on that finding; prints ops
// before/after, the minimization's wall time and its reliability. Then what
// a finding ships with: the C reproducer of the mutant's divergence, built
// and run on the same kernel (the kernel is right, so it must FAIL), the C
// of the real contract for the same op (must PASS), and the report.
//
//   minimize_mutants [--target local|qemu]   (qemu: the Debian guest, which
//                                             adds the soft-dirty mutant)
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <string>

#include "fuzz/campaign.h"
#include "fuzz/minimize.h"
#include "fuzz/report.h"
#include "fuzz/repro.h"
#include "fuzz/repro_build.h"
#include "model/mutant.h"
#include "prog/text.h"

namespace {

double Now() {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec * 1e-9;
}

// Builds `spec`'s C for `prog` and runs it on `target`: PASS, FAIL, ... or
// what went wrong.
std::string RunRepro(const mmdiff::Program& prog, const mmdiff::ReproSpec& spec, mmdiff::Target* target) {
  std::vector<uint8_t> binary;
  std::string err;
  if (!mmdiff::CompileRepro(mmdiff::WriteReproC(prog, spec), {}, &binary, &err)) return "no-build";
  mmdiff::BinaryRun run;
  if (!target->RunBinary(binary, {}, 60000, &run, &err)) return "no-run";
  return mmdiff::ReproOutcome(run);
}

// One mutant's campaign directory, in $TMPDIR (else /tmp): only its first
// finding's program is read, so it is removed when that mutant is done,
// however it went (it used to stay in /tmp, one per mutant and run).
struct CampaignDir {
  std::string path;
  CampaignDir() {
    const char* base = getenv("TMPDIR");
    path = std::string(base && *base ? base : "/tmp") + "/mmdiff-bench-min.XXXXXX";
    if (!mkdtemp(path.data())) path.clear();
  }
  ~CampaignDir() {
    std::error_code ec;
    if (!path.empty()) std::filesystem::remove_all(path, ec);
  }
  CampaignDir(const CampaignDir&) = delete;
  CampaignDir& operator=(const CampaignDir&) = delete;
};

}  // namespace

int main(int argc, char** argv) {
  using namespace mmdiff;
  bool qemu = argc == 3 && std::string(argv[1]) == "--target" && std::string(argv[2]) == "qemu";
  if (argc != 1 && !qemu && !(argc == 3 && std::string(argv[1]) == "--target" && std::string(argv[2]) == "local")) {
    fprintf(stderr, "usage: minimize_mutants [--target local|qemu]\n");
    return 2;
  }
  TargetOptions options;
  options.executor_path = MMDIFF_EXECUTOR_PATH;
  std::string err;
  TargetPool pool;
  auto factory = [&](std::string* e) { return qemu ? MakeQemuTarget(options, e) : MakeLocalTarget(options, e); };
  if (!pool.Start(factory, 1, &err)) {
    fprintf(stderr, "%s target: %s\n", qemu ? "qemu" : "local", err.c_str());
    return 1;
  }
  KernelFeatures features;
  if (!pool.first()->Probe(&features, &err)) {
    fprintf(stderr, "probe: %s\n", err.c_str());
    return 1;
  }
  printf("kernel %s\n", features.release.c_str());
  printf("%-28s %5s %8s %9s %11s %10s %12s %7s\n", "mutant", "ops", "min ops", "min time", "reproduced",
         "C mutant", "C contract", "report");
  bool met = true;
  for (const MutantInfo& m : AllMutants()) {
    if (m.needs & ~features.features) continue;  // not observable on this kernel
    KernelProfile profile = MakeProfile(features);
    profile.mutant = m.mutant;
    CampaignDir dir;
    if (dir.path.empty()) return 1;
    CampaignOptions co;
    co.out_dir = dir.path;
    co.seed = 1;
    co.max_seconds = 60;
    co.until_found = true;
    co.status_every_s = 3600;
    std::atomic<bool> stop{false};
    CampaignStats stats;
    if (!RunCampaign(co, &pool, profile, stop, &stats, &err)) return 1;
    std::string program_path;
    // The first finding's program.mmp.
    FILE* ls = popen(("ls -d " + dir.path + "/findings/*/program.mmp 2>/dev/null | head -1").c_str(), "r");
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
    // The mutant's reproducer: this kernel is right, so it must FAIL.
    std::string c_mutant = RunRepro(r.program, SpecForJudgement(r.program, r.judgement), pool.first());
    // The contract's check of the same op: must PASS.
    std::string c_contract = "-";
    if (r.judgement.verdict.divergence) {
      KernelProfile contract = profile;
      contract.mutant = Mutant::kNone;
      Prediction pred;
      ReproSpec spec;
      size_t op = r.judgement.verdict.divergence->op_index;
      c_contract = PredictionAt(r.program, r.trace, contract, op, &pred, &err)
                       ? (spec.checks.push_back(CheckFromPrediction(r.program, op, pred)),
                          RunRepro(r.program, spec, pool.first()))
                       : "unmodelled";
    }
    ReportInput in{r.program, r.trace, r.judgement, features, profile, r.reproduced, r.runs};
    std::string report = WriteReport(in);
    size_t report_lines = static_cast<size_t>(std::count(report.begin(), report.end(), '\n'));
    printf("%-28s %5zu %8zu %8.1fs %9d/%d %10s %12s %7zu\n", m.name, prog.ops.size(), r.program.ops.size(), took,
           r.reproduced, r.runs, c_mutant.c_str(), c_contract.c_str(), report_lines);
    met = met && r.program.ops.size() <= 8 && took < 60 && c_mutant == "FAIL" && c_contract == "PASS";
  }
  printf("target: at most 8 ops and under 60 s for each, its C FAILs and the contract's PASSes: %s\n",
         met ? "MET" : "NOT MET");
  return 0;
}
