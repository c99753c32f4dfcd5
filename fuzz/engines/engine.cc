#include "fuzz/engines/engine.h"

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "fuzz/generator.h"
#include "fuzz/rng.h"
#include "prog/binary.h"

#ifndef MMDIFF_EXECUTOR_PATH
#define MMDIFF_EXECUTOR_PATH ""
#endif

namespace mmdiff::engine {
namespace {

[[noreturn]] void Die(const std::string& what) {
  std::fprintf(stderr, "mmdiff-engine: %s\n", what.c_str());
  std::exit(1);
}

TargetOptions Options() {
  TargetOptions o;
  o.executor_path = ExecutorPath();
  return o;
}

// Cuts trailing ops until the encoding fits (a prefix of a modelled
// program is modelled).
size_t EncodeInto(Program p, uint8_t* out, size_t max_size) {
  while (!p.ops.empty()) {
    std::vector<uint8_t> bytes = EncodeProgram(p);
    if (bytes.size() <= max_size) {
      std::memcpy(out, bytes.data(), bytes.size());
      return bytes.size();
    }
    size_t keep = p.ops.size() * max_size / bytes.size();
    keep = std::min(keep, p.ops.size() - 1);
    p.ops.resize(keep);
    p.expect.resize(keep);
    p.lines.resize(keep);
  }
  return 0;
}

// A decoded input as a modelled program; false if nothing modelled is left.
bool DecodeModelled(std::span<const uint8_t> data, const KernelProfile& profile, Program* out) {
  if (data.empty() || data.size() > kMaxInputBytes) return false;
  if (!DecodeProgram(data, out)) return false;
  return KeepModelled(out, profile, kMaxOps, nullptr) && !out->ops.empty();
}

}  // namespace

std::string ExecutorPath() {
  if (const char* env = std::getenv("MMDIFF_EXECUTOR"); env && *env) return env;
  return MMDIFF_EXECUTOR_PATH;
}

Kernel& LocalKernel() {
  static Kernel* kernel = nullptr;
  static pid_t owner = 0;
  if (kernel && owner == getpid()) return *kernel;
  if (kernel) {
    // Forked after the executor started: that executor is the parent's. Its
    // pipes stay open here, unused; this process starts its own.
    (void)kernel->target.release();
  }
  kernel = new Kernel;
  owner = getpid();
  std::string err;
  kernel->target = MakeLocalTarget(Options(), &err);
  if (!kernel->target) Die("cannot start the executor " + ExecutorPath() + ": " + err);
  KernelFeatures features;
  if (!kernel->target->Probe(&features, &err)) Die("cannot probe the kernel with " + ExecutorPath() + ": " + err);
  kernel->profile = MakeProfile(features);
  return *kernel;
}

KernelProfile ProbeProfile() {
  std::string err;
  std::unique_ptr<Target> t = MakeLocalTarget(Options(), &err);
  KernelFeatures features;
  if (t && t->Probe(&features, &err)) return MakeProfile(features);
  std::fprintf(stderr, "mmdiff-engine: warning: no probe (%s); mutating for the 6.18 host profile\n", err.c_str());
  return HostProfile618();
}

void Recent::Add(const Program& p) {
  constexpr size_t kKeep = 32;
  if (progs_.size() < kKeep) {
    progs_.push_back(p);
  } else {
    progs_[next_] = p;
    next_ = (next_ + 1) % kKeep;
  }
}

size_t MutateEncoded(Mutator* mutator, Recent* recent, std::span<const uint8_t> data,
                     std::span<const uint8_t> other, uint8_t* out, size_t max_size, uint64_t seed, int* which) {
  const KernelProfile& profile = mutator->profile();
  Rng rng(SplitMix64(seed));
  *which = -1;
  Program prog;
  if (!DecodeModelled(data, profile, &prog)) {
    // Not a program (yet): a generated one, as a campaign would start.
    GeneratorOptions g;
    g.seed = seed;
    g.min_ops = 5;
    g.max_ops = 40;
    g.profile = profile;
    return EncodeInto(Generator(g).Generate(0), out, max_size);
  }
  recent->Add(prog);  // before taking the span: Add may reallocate
  Program partner;
  std::span<const Program> corpus = recent->programs();
  if (DecodeModelled(other, profile, &partner)) corpus = std::span<const Program>(&partner, 1);
  size_t w = 0;
  if (mutator->Mutate(&prog, rng, corpus, &w)) *which = static_cast<int>(w);
  return EncodeInto(std::move(prog), out, max_size);
}

}  // namespace mmdiff::engine
