// Campaign execs/s as a ratio to the executor's raw rate on the same program
// mix, measured side by side in one run (target: at least 0.9, one model walk per exec).
//
// The mix is generated programs (fixed seed) that pass on this kernel, so
// neither side pays for hangs or confirmation re-runs. Raw: Target::Run
// alone. Campaign: what a campaign does per program: Run, the model's
// verdict and model-state coverage on one walk of the model
// (JudgeKernelRun with a CoverageVisitor, as fuzz/campaign.cc does) and the
// corpus bookkeeping (CoverageMap::Merge). Interleaved in rounds.
#include <time.h>

#include <cstdio>
#include <string>

#include "fuzz/coverage.h"
#include "fuzz/generator.h"
#include "model/judge.h"
#include "target/target.h"

namespace {

double Now() {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec * 1e-9;
}

}  // namespace

int main() {
  mmdiff::TargetOptions options;
  options.executor_path = MMDIFF_EXECUTOR_PATH;
  std::string err;
  auto target = mmdiff::MakeLocalTarget(options, &err);
  mmdiff::KernelFeatures features;
  if (!target || !target->Probe(&features, &err)) {
    fprintf(stderr, "local target: %s\n", err.c_str());
    return 1;
  }
  mmdiff::KernelProfile profile = mmdiff::MakeProfile(features);
  mmdiff::Generator gen(mmdiff::GeneratorOptions{42, 10, 60, profile});
  std::vector<mmdiff::Program> mix;
  size_t ops = 0;
  for (int i = 0; mix.size() < 200 && i < 2000; i++) {
    mmdiff::Program p = gen.Generate(i);
    mmdiff::Trace t;
    if (target->Run(p, &t, &err) && mmdiff::JudgeKernelRun(p, t, profile).kind == mmdiff::Judgement::Kind::kPass) {
      ops += p.ops.size();
      mix.push_back(std::move(p));
    }
  }
  if (mix.empty()) {
    fprintf(stderr, "no generated program passes on this kernel\n");
    return 1;
  }
  // Each round runs the whole mix on each side: the same programs, in the
  // same order, so program cost (which varies a lot) cancels out.
  const int rounds = 4;
  double raw_s = 0, campaign_s = 0;
  long raw = 0, campaign = 0;
  mmdiff::CoverageMap coverage;
  mmdiff::Trace t;
  for (int r = 0; r < rounds; r++) {
    double t0 = Now();
    for (const mmdiff::Program& p : mix) target->Run(p, &t, &err);
    raw_s += Now() - t0;
    raw += mix.size();
    t0 = Now();
    for (const mmdiff::Program& p : mix) {
      target->Run(p, &t, &err);
      mmdiff::CoverageVisitor features;
      mmdiff::Judgement j = mmdiff::JudgeKernelRun(p, t, profile, &features);
      if (j.kind == mmdiff::Judgement::Kind::kPass) coverage.Merge(features.Features());
    }
    campaign_s += Now() - t0;
    campaign += mix.size();
  }
  double raw_rate = raw / raw_s, campaign_rate = campaign / campaign_s, ratio = campaign_rate / raw_rate;
  printf("kernel %s: %zu generated programs (%.1f ops on average), %d interleaved rounds of the whole mix\n",
         features.release.c_str(), mix.size(), static_cast<double>(ops) / mix.size(), rounds);
  printf("executor raw:  %8.0f programs/s\n", raw_rate);
  printf("campaign:      %8.0f programs/s  (run + model verdict + coverage)\n", campaign_rate);
  printf("ratio:         %8.2f  (target >= 0.90) %s\n", ratio, ratio >= 0.9 ? "MET" : "NOT MET");
  return 0;
}
