// The micro-benchmarks, registered with Google Benchmark: the model and
// checker on a real kernel trace, the text parser and printer, the binary
// codec the executor channel speaks, the generator and the mutator. Run by
// `./mmdiff bench` before the end-to-end ratios (bench/throughput); any
// Google Benchmark flag works (--benchmark_filter=Model,
// --benchmark_min_time=0.1). Throughput is measured here, never asserted in a
// timed unit test.
//
// After the table, one line for the issue target of the model: at least
// 200,000 ops/s on one core checking a trace with 16-page pagemaps.
#include <benchmark/benchmark.h>

#include <cstdio>
#include <string>
#include <vector>

#include "fuzz/generator.h"
#include "fuzz/mutator.h"
#include "fuzz/rng.h"
#include "model/checker.h"
#include "model/profile.h"
#include "prog/binary.h"
#include "prog/text.h"
#include "target/target.h"

namespace {

// A mix of what campaigns run: mappings of each kind, writes, reads,
// clear_refs, mprotect splits, fork with COW, uffd-wp async tracking,
// PAGEMAP_SCAN, and a 16-page pagemap after most steps.
const char kProgram[] =
    "mmap 0 16 rw anon private\n"
    "madvise 0 16 nohugepage\n"
    "write 0\nwrite 3\nread 5\n"
    "pagemap 0 16\n"
    "clear_refs 4\n"
    "write 1\n"
    "pagemap 0 16\n"
    "mprotect 4 4 r\n"
    "pagemap 0 16\n"
    "memfd 0 16\n"
    "mmap 32 16 rw memfd:0+0 shared\n"
    "write 33\nfwrite 0 4\nread 36\n"
    "pagemap 32 16\n"
    "fork\n"
    "p1: write 0\n"
    "p1: pagemap 0 16\n"
    "pagemap 0 16\n"
    "p1: exit\n"
    "mmap 64 16 rw anon private\n"
    "madvise 64 16 nohugepage\n"
    "uffd_open wp_async wp_unpopulated\n"
    "uffd_register 64 16 wp\n"
    "uffd_wp 64 16 on\n"
    "write 65\nwrite 70\n"
    "pagemap 64 16\n"
    "scan 64 16 req=written\n"
    "scan 64 16 wp_matching check_wpasync req=written ret=written\n"
    "pagemap 64 16\n"
    "madvise 0 4 dontneed\n"
    "pagemap 0 16\n"
    "munmap 0 16\n"
    "pagemap 0 16\n";

struct Fixture {
  mmdiff::Program prog;
  mmdiff::Trace trace;  // of the running kernel
  mmdiff::KernelProfile profile;
  std::string error;
};

// The program's trace on the running kernel, once.
const Fixture& KernelTrace() {
  static const Fixture f = [] {
    Fixture f;
    mmdiff::TextError text_err;
    if (!mmdiff::ParseProgram(kProgram, "bench", &f.prog, &text_err)) {
      f.error = text_err.ToString();
      return f;
    }
    mmdiff::TargetOptions options;
    options.executor_path = MMDIFF_EXECUTOR_PATH;
    auto target = mmdiff::MakeLocalTarget(options, &f.error);
    mmdiff::KernelFeatures features;
    if (!target || !target->Probe(&features, &f.error) || !target->Run(f.prog, &f.trace, &f.error)) {
      f.error = "local target: " + f.error;
      return f;
    }
    f.profile = mmdiff::MakeProfile(features);
    mmdiff::Verdict v = mmdiff::CheckTrace(f.prog, f.trace, f.profile);
    if (v.status != mmdiff::Verdict::Status::kPass)
      f.error = "the benchmark program does not pass on this kernel: " +
                (v.divergence ? v.divergence->line : v.note);
    return f;
  }();
  return f;
}

double g_model_ops_per_s = 0;

void BM_ModelChecker(benchmark::State& state) {
  const Fixture& f = KernelTrace();
  if (!f.error.empty()) {
    state.SkipWithError(f.error.c_str());
    return;
  }
  int64_t ops = 0;
  for (auto _ : state) ops += static_cast<int64_t>(mmdiff::CheckTrace(f.prog, f.trace, f.profile).ops_checked);
  state.SetItemsProcessed(ops);
  state.counters["ops/s"] = benchmark::Counter(static_cast<double>(ops), benchmark::Counter::kIsRate);
}
BENCHMARK(BM_ModelChecker);

void BM_ParseText(benchmark::State& state) {
  std::string text = kProgram;
  for (auto _ : state) {
    mmdiff::Program p;
    mmdiff::TextError err;
    benchmark::DoNotOptimize(mmdiff::ParseProgram(text, "bench", &p, &err));
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * text.size()));
}
BENCHMARK(BM_ParseText);

mmdiff::Program Parsed() {
  mmdiff::Program p;
  mmdiff::TextError err;
  mmdiff::ParseProgram(kProgram, "bench", &p, &err);
  return p;
}

void BM_PrintText(benchmark::State& state) {
  mmdiff::Program p = Parsed();
  for (auto _ : state) benchmark::DoNotOptimize(mmdiff::PrintProgram(p));
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
}
BENCHMARK(BM_PrintText);

void BM_BinaryEncode(benchmark::State& state) {
  mmdiff::Program p = Parsed();
  for (auto _ : state) benchmark::DoNotOptimize(mmdiff::EncodeProgram(p));
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
}
BENCHMARK(BM_BinaryEncode);

void BM_BinaryDecode(benchmark::State& state) {
  std::vector<uint8_t> bytes = mmdiff::EncodeProgram(Parsed());
  for (auto _ : state) {
    mmdiff::Program p;
    benchmark::DoNotOptimize(mmdiff::DecodeProgram(bytes, &p));
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * bytes.size()));
}
BENCHMARK(BM_BinaryDecode);

mmdiff::GeneratorOptions GenOptions(uint64_t seed) {
  mmdiff::GeneratorOptions o;
  o.seed = seed;
  o.profile = mmdiff::HostProfile618();
  return o;
}

void BM_Generate(benchmark::State& state) {
  mmdiff::Generator g(GenOptions(1));
  for (auto _ : state) benchmark::DoNotOptimize(g.Next());
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
}
BENCHMARK(BM_Generate);

void BM_Mutate(benchmark::State& state) {
  mmdiff::Generator g(GenOptions(4));
  std::vector<mmdiff::Program> corpus;
  for (int i = 0; i < 50; i++) corpus.push_back(g.Next());
  mmdiff::Mutator m(mmdiff::HostProfile618());
  mmdiff::Rng rng(7);
  size_t i = 0;
  for (auto _ : state) {
    mmdiff::Program p = corpus[i++ % corpus.size()];
    benchmark::DoNotOptimize(m.Mutate(&p, rng, corpus));
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
}
BENCHMARK(BM_Mutate);

// Keeps the model's rate for the target line.
class Reporter : public benchmark::ConsoleReporter {
 public:
  void ReportRuns(const std::vector<Run>& runs) override {
    for (const Run& r : runs)
      if (r.benchmark_name() == "BM_ModelChecker" && !r.error_occurred) {
        auto it = r.counters.find("ops/s");
        if (it != r.counters.end()) g_model_ops_per_s = it->second.value;
      }
    ConsoleReporter::ReportRuns(runs);
  }
};

}  // namespace

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 2;
  Reporter reporter;
  benchmark::RunSpecifiedBenchmarks(&reporter);
  benchmark::Shutdown();
  if (g_model_ops_per_s > 0)
    std::printf("model+checker: %.0f ops/s on one core  (target >= 200000) %s\n", g_model_ops_per_s,
                g_model_ops_per_s >= 200000 ? "MET" : "NOT MET");
  return 0;
}
