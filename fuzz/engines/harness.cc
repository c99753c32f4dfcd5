// The fuzz target, libFuzzer-style: one binary program (prog/binary.h) in,
// run out of process on the environment's kernel (engine.h EngineKernel:
// the running one, or a guest), judged against the model.
// Linked with libFuzzer (mmdiff-libfuzzer) and with AFL++'s libAFLDriver
// (mmdiff-afl, MMDIFF_ENGINE_AFL).
//
//   LLVMFuzzerTestOneInput   DecodeEngineInput (fuzz/engine_input.h: what
//                            `mmdiff merge` re-runs of a crash file), run
//                            on the engine's one target, judge. On a FAIL:
//                            the one-line report (DIVERGENCE ..., or
//                            EXPECTATION/KERNEL-SPLAT/HANG) first on stderr,
//                            then the program and the detail, then abort().
//   LLVMFuzzerCustomMutator  decode, one Mutator (fuzz/mutator.h) draw
//                            seeded from libFuzzer's seed, encode.
//   LLVMFuzzerCustomCrossOver  the splice mutator on the two inputs.
//
// Model-state coverage as extra feedback: the checker's walk (TraceFeatures,
// fuzz/coverage.h: op kind x memory kind x PTE state before/after x result)
// hashed into __libfuzzer_extra_counters; under AFL++ the same features go
// into AFL's shared coverage map.
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>

#include "fuzz/coverage.h"
#include "fuzz/engines/engine.h"
#include "model/judge.h"
#include "prog/binary.h"
#include "prog/text.h"

using namespace mmdiff;

namespace {

// libFuzzer reads and clears these around every run: one feature per
// nonzero counter (and per counter bucket: 1, 2, 3, 4-7, 8-15, ...).
constexpr size_t kExtraCounters = 1 << 16;
__attribute__((section("__libfuzzer_extra_counters"), used)) uint8_t g_extra_counters[kExtraCounters];

#ifdef MMDIFF_ENGINE_AFL
extern "C" uint8_t* __afl_area_ptr;
extern "C" uint32_t __afl_map_size;
#endif

void RecordFeatures(const std::vector<uint64_t>& features) {
  for (uint64_t f : features) {
    uint8_t& c = g_extra_counters[f % kExtraCounters];
    if (c < 255) c++;
  }
#ifdef MMDIFF_ENGINE_AFL
  // Only with afl-fuzz's shared map; standalone runs have a small dummy one.
  static const bool afl_live = std::getenv("__AFL_SHM_ID") != nullptr;
  if (afl_live && __afl_area_ptr && __afl_map_size)
    for (uint64_t f : features) {
      uint8_t& c = __afl_area_ptr[(f >> 7) % __afl_map_size];
      if (c < 255) c++;
    }
#endif
}

Mutator& TheMutator() {
  static Mutator* m = new Mutator(engine::EngineKernel().profile, MutatorOptions{engine::kMaxOps, 16});
  return *m;
}

engine::Recent& TheRecent() {
  static engine::Recent* r = new engine::Recent;
  return *r;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  engine::Kernel& k = engine::EngineKernel();
  Program prog;
  if (!DecodeEngineInput({data, size}, k.profile, &prog)) return -1;
  Trace trace;
  std::string err;
  if (!k.target->Run(prog, &trace, &err)) {
    // The executor died or stopped answering; it restarts on the next run.
    std::fprintf(stderr, "mmdiff-engine: the %s target failed: %s\n", k.name.c_str(), err.c_str());
    if (++k.failures_in_a_row >= 20) {
      std::fprintf(stderr, "mmdiff-engine: 20 target failures in a row; giving up\n");
      std::exit(1);
    }
    return 0;
  }
  k.failures_in_a_row = 0;
  RecordFeatures(TraceFeatures(prog, trace, k.profile));
  Judgement j = JudgeKernelRun(prog, trace, k.profile);
  if (j.kind == Judgement::Kind::kFail) {
    std::fprintf(stderr, "%s\n", j.line.c_str());
    std::fprintf(stderr, "mmdiff-engine: the program (%s):\n%s", k.profile.release.c_str(), PrintProgram(prog).c_str());
    if (!j.detail.empty()) std::fprintf(stderr, "%s\n", j.detail.c_str());
    std::fflush(stderr);
    engine::CloseEngineKernel();  // no guest outlives the engine's crash
    std::abort();
  }
  return 0;
}

extern "C" size_t LLVMFuzzerCustomMutator(uint8_t* data, size_t size, size_t max_size, unsigned int seed) {
  int which = -1;
  std::vector<uint8_t> in(data, data + size);
  size_t n = engine::MutateEncoded(&TheMutator(), &TheRecent(), in, {}, data, max_size, seed, &which);
  if (n == 0 && size <= max_size) return size;  // nothing fit: keep the input
  return n;
}

extern "C" size_t LLVMFuzzerCustomCrossOver(const uint8_t* data1, size_t size1, const uint8_t* data2, size_t size2,
                                            uint8_t* out, size_t max_out_size, unsigned int seed) {
  Mutator& m = TheMutator();
  Program a, b;
  if (!DecodeProgram({data1, size1}, &a) || !DecodeProgram({data2, size2}, &b)) return 0;
  Rng rng(SplitMix64(seed));
  if (!KeepModelled(&a, m.profile(), engine::kMaxOps, nullptr) ||
      !KeepModelled(&b, m.profile(), engine::kMaxOps, nullptr) || b.ops.empty())
    return 0;
  if (!m.MutateWith(static_cast<size_t>(Mutator::IndexOf("splice")), &a, rng, std::span<const Program>(&b, 1)))
    return 0;
  std::vector<uint8_t> bytes = EncodeProgram(a);
  if (bytes.size() > max_out_size) return 0;
  std::copy(bytes.begin(), bytes.end(), out);
  return bytes.size();
}
