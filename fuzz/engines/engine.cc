#include "fuzz/engines/engine.h"

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <set>

#include "cli/targets.h"
#include "fuzz/generator.h"
#include "fuzz/rng.h"
#include "prog/binary.h"

#ifndef MMDIFF_EXECUTOR_PATH
#define MMDIFF_EXECUTOR_PATH ""
#endif

namespace mmdiff::engine {
namespace {

[[noreturn]] void Die(const std::string& what, int status = 1) {
  std::fprintf(stderr, "mmdiff-engine: %s\n", what.c_str());
  std::exit(status);
}

// An error of the flags' parsing, in the environment's terms: each "--flag"
// named as its MMDIFF_ variable.
std::string InEnvironmentTerms(std::string err) {
  for (const std::set<std::string>& flags : {cli::TargetValueFlags(), cli::TargetSwitchFlags()})
    for (const std::string& flag : flags)
      for (size_t at; (at = err.find("--" + flag)) != std::string::npos;)
        err.replace(at, flag.size() + 2, cli::TargetEnvName(flag));
  return err;
}

// The environment's target, opened and probed into `*kernel`; dies with one
// line when it cannot be.
void OpenChosen(Kernel* kernel) {
  cli::Args args = cli::TargetArgsFromEnvironment();
  std::string err;
  kernel->name = cli::TargetName(args);
  if (kernel->name != "local" && kernel->name != "qemu")
    Die("MMDIFF_TARGET=" + kernel->name + ": the engines run programs on a kernel: local or qemu", 2);
  TargetOptions base;
  base.executor_path = ExecutorPath();
  // AFL++ kills a timed-out child with SIGKILL: its guest dies with it
  // (target/spawn.h, for every guest).
  TargetOptions check = base;
  if (!cli::TargetOptionsFromArgs(args, &check, &err)) Die(InEnvironmentTerms(err), 2);
  kernel->target = cli::OpenTarget(args, &err, base);
  if (!kernel->target) Die("cannot start the " + kernel->name + " target (executor " + ExecutorPath() + "): " + err);
  if (!cli::ProfileFor(args, kernel->target.get(), &kernel->profile, &err))
    Die(InEnvironmentTerms(err), 2);
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

namespace {
Kernel* g_kernel = nullptr;
pid_t g_owner = 0;
}  // namespace

Kernel& EngineKernel() {
  if (g_kernel && g_owner == getpid()) return *g_kernel;
  if (g_kernel) {
    // Forked after the target started: that executor or guest is the
    // parent's. Its pipes stay open here, unused; this process starts its own.
    (void)g_kernel->target.release();
  }
  g_kernel = new Kernel;
  g_owner = getpid();
  OpenChosen(g_kernel);
  // The engines end with exit() (libFuzzer's -runs, -max_total_time): a
  // guest is shut down and its work directory removed then too.
  static bool registered = false;
  if (!registered) registered = std::atexit(CloseEngineKernel) == 0;
  return *g_kernel;
}

void CloseEngineKernel() {
  if (g_kernel && g_owner == getpid()) g_kernel->target.reset();
}

KernelProfile ProbeProfile() {
  Kernel k;
  OpenChosen(&k);
  return k.profile;
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
