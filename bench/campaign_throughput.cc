// Campaign execs/s, measured side by side in one run, two ways:
//
// - with one target (the default): as a ratio to the executor's raw rate on
//   the same program mix (target: at least 0.9, one model walk per exec);
// - with --jobs N (local executors) or --vms N (guests), N >= 2: the
//   campaign's rate on one target against its rate on N targets at once,
//   and what each added target adds as a share of the first's rate (issue
//   13 item 5: on 2 cores the second should add at least 0.8).
//
// usage: campaign_throughput [--target local|qemu] [--jobs N | --vms N] [--rounds R]
//                            [--guest 6.12|6.1 | --kernel bzImage] [--executor PATH]
//
// The mix is generated programs (fixed seed) that pass on this kernel, so
// neither side pays for hangs or confirmation re-runs. Raw: Target::Run
// alone. Campaign: what a campaign's worker does per program (fuzz/campaign.cc
// Worker): the next programs sent to the target before one is judged
// (PipelinedTarget), the model's verdict and model-state coverage on
// one walk of the model (JudgeKernelRun with a CoverageVisitor) and the
// corpus bookkeeping (CoverageMap::Merge, under the lock the workers share).
// Interleaved in rounds, each the whole mix on each side.
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "bench/bench_util.h"
#include "fuzz/coverage.h"
#include "fuzz/generator.h"
#include "model/judge.h"
#include "target/pipelined_target.h"
#include "target/target.h"

namespace {

using mmdiff::bench::Now;

struct Campaign {
  const std::vector<mmdiff::Program>* mix;
  const mmdiff::KernelProfile* profile;
  std::mutex mu;  // the corpus's coverage, shared by the workers
  mmdiff::CoverageMap coverage;

  // A trace as a campaign worker judges it: the model's verdict and
  // model-state coverage on one walk, and the corpus bookkeeping.
  void Judge(const mmdiff::Program& p, const mmdiff::Trace& t) {
    mmdiff::CoverageVisitor features;
    mmdiff::Judgement j = mmdiff::JudgeKernelRun(p, t, *profile, &features);
    if (j.kind != mmdiff::Judgement::Kind::kPass) return;
    std::vector<uint64_t> f = features.Features();
    std::lock_guard<std::mutex> lock(mu);
    coverage.Merge(f);
  }

  // The mix from `start` (wrapping) as a worker runs it: the next programs
  // are sent before one is judged (mmdiff::PipelinedTarget).
  void ExecAll(mmdiff::Target* target, size_t start) {
    mmdiff::PipelinedTarget pipe(target);
    size_t n = mix->size(), sent = 0;
    mmdiff::Trace t;
    std::string err;
    auto fill = [&] {
      while (sent < n && pipe.in_flight() < pipe.MaxInFlight()) pipe.Send((*mix)[(start + sent++) % n], &err);
    };
    for (size_t i = 0; i < n; i++) {
      fill();
      pipe.Receive(&t, &err);
      fill();
      Judge((*mix)[(start + i) % n], t);
    }
  }

  // Each of `targets` runs the whole mix (from its own offset, so they do
  // not run the same program at the same moment), on a thread of its own;
  // returns programs/s over all of them.
  double Rate(const std::vector<mmdiff::Target*>& targets) {
    double t0 = Now();
    std::vector<std::thread> workers;
    for (size_t w = 0; w < targets.size(); w++)
      workers.emplace_back([this, &targets, w] {
        ExecAll(targets[w], w * mix->size() / targets.size());
      });
    for (auto& th : workers) th.join();
    return targets.size() * mix->size() / (Now() - t0);
  }
};

}  // namespace

int main(int argc, char** argv) {
  std::string target_name = "local";
  int n = 1, rounds = 4;
  bool jobs_given = false, vms_given = false;
  mmdiff::TargetOptions options;
  options.executor_path = MMDIFF_EXECUTOR_PATH;
  const char* usage =
      "usage: campaign_throughput [--target local|qemu] [--jobs N | --vms N] [--rounds R]\n"
      "                           [--guest 6.12|6.1 | --kernel bzImage] [--executor PATH]\n";
  mmdiff::bench::ParseFlags("campaign_throughput", argc, argv, usage,
                            [&](const std::string& flag, const char* value) {
    if (flag == "--target") target_name = value;
    else if (flag == "--jobs") n = atoi(value), jobs_given = true;
    else if (flag == "--vms") n = atoi(value), vms_given = true;
    else if (flag == "--rounds") rounds = atoi(value);
    else return mmdiff::bench::TargetFlag(flag, value, &options);
    return true;
  });
  if (vms_given) target_name = "qemu";
  bool qemu = target_name == "qemu";
  if (n < 1 || rounds < 1 || (jobs_given && vms_given) || (jobs_given && qemu) || (!qemu && target_name != "local")) {
    fprintf(stderr, "campaign_throughput: --jobs N for local executors, --vms N for guests (N >= 1)\n%s", usage);
    return 2;
  }
  // The targets start (a guest boots) in parallel, as a campaign's do.
  std::vector<std::unique_ptr<mmdiff::Target>> owned(n);
  std::vector<std::string> errs(n);
  std::vector<mmdiff::KernelFeatures> features(n);
  std::vector<char> ok(n);
  {
    std::vector<std::thread> starting;
    for (int i = 0; i < n; i++)
      starting.emplace_back([&, i] {
        owned[i] = qemu ? mmdiff::MakeQemuTarget(options, &errs[i]) : mmdiff::MakeLocalTarget(options, &errs[i]);
        ok[i] = owned[i] && owned[i]->Probe(&features[i], &errs[i]);
      });
    for (auto& th : starting) th.join();
  }
  for (int i = 0; i < n; i++)
    if (!ok[i]) {
      fprintf(stderr, "%s target %d: %s\n", target_name.c_str(), i, errs[i].c_str());
      return 1;
    }
  mmdiff::Target* target = owned[0].get();
  mmdiff::KernelProfile profile = mmdiff::MakeProfile(features[0]);
  mmdiff::Generator gen(mmdiff::GeneratorOptions{42, 10, 60, profile});
  // A guest runs programs ~10 times slower: a smaller mix keeps the run short.
  const size_t want = qemu ? 60 : 200;
  std::vector<mmdiff::Program> mix;
  size_t ops = 0;
  std::string err;
  for (int i = 0; mix.size() < want && i < 2000; i++) {
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
  printf("target %s, kernel %s: %zu generated programs (%.1f ops on average), %d interleaved rounds of the whole mix\n",
         target_name.c_str(), features[0].release.c_str(), mix.size(), static_cast<double>(ops) / mix.size(), rounds);
  Campaign campaign{&mix, &profile, {}, {}};
  if (n == 1) {
    // The same programs, in the same order, on each side, so program cost
    // (which varies a lot) cancels out.
    double raw_s = 0, campaign_s = 0;
    long raw = 0, done = 0;
    mmdiff::Trace t;
    for (int r = 0; r < rounds; r++) {
      double t0 = Now();
      for (const mmdiff::Program& p : mix) target->Run(p, &t, &err);
      raw_s += Now() - t0;
      raw += mix.size();
      t0 = Now();
      campaign.ExecAll(target, 0);
      campaign_s += Now() - t0;
      done += mix.size();
    }
    double raw_rate = raw / raw_s, campaign_rate = done / campaign_s, ratio = campaign_rate / raw_rate;
    printf("executor raw:  %8.0f programs/s\n", raw_rate);
    printf("campaign:      %8.0f programs/s  (run + model verdict + coverage)\n", campaign_rate);
    printf("ratio:         %8.2f  (target >= 0.90) %s\n", ratio, ratio >= 0.9 ? "MET" : "NOT MET");
    return 0;
  }
  // Scaling: the campaign on the first target alone, then on all n, in
  // turns. Rates are averaged over rounds (each round weighs the same).
  std::vector<mmdiff::Target*> one = {target}, all;
  for (auto& t : owned) all.push_back(t.get());
  // The rounds' own rates show how steady the machine was.
  double rate1 = 0, rate_n = 0;
  std::string each;
  for (int r = 0; r < rounds; r++) {
    double a = campaign.Rate(one), b = campaign.Rate(all);
    rate1 += a / rounds;
    rate_n += b / rounds;
    char buf[64];
    snprintf(buf, sizeof buf, " %.0f/%.0f", a, b);
    each += buf;
  }
  // What each target past the first adds, as a share of the first's rate:
  // 1.0 is perfect scaling; the machine's cores bound it.
  double added = (rate_n - rate1) / (n - 1) / rate1;
  const char* unit = qemu ? "vms" : "jobs";
  printf("campaign, 1 %-4s   %8.1f programs/s\n", unit, rate1);
  printf("campaign, %d %-4s   %8.1f programs/s  (%.2fx)\n", n, unit, rate_n, rate_n / rate1);
  printf("per round (1/%d):  %s\n", n, each.c_str());
  printf("added per %s:     %8.2f of the first's rate  (target >= 0.80 on %u cores) %s\n",
         qemu ? "vm " : "job", added, std::thread::hardware_concurrency(), added >= 0.8 ? "MET" : "NOT MET");
  return 0;
}
