// The program generator: random, valid programs drawn from the model's state.
//
// Each program is built op by op while a Model walks along (Predict, then
// Apply with the predicted result as if the kernel had answered it), so every
// op is chosen from the address space the earlier ops produced: ranges of
// mapped VMAs, open file slots, registered uffd ranges, live processes. A
// candidate the model reports as `unmodelled` is dropped and another drawn,
// so generated programs stay inside what the model checks.
//
// The op table (prog/op_table.h) drives the argument filling: every ArgSpec of
// an op gets a generic random value; a per-op-kind handler then makes the
// choices that need the state or the kernel's semantics.
//
// Reproducible: program `index` of a generator depends only on
// (options.seed, index, options.profile, min_ops, max_ops), and is the same on
// every machine (fuzz/rng.h). Not thread-safe (stats); use one Generator per
// thread.
#pragma once

#include <cstdint>

#include "model/profile.h"
#include "prog/program.h"

namespace mmdiff {

struct GeneratorOptions {
  uint64_t seed = 0;
  int min_ops = 10;  // clamped to 1 <= min_ops <= max_ops <= kMaxOps
  int max_ops = 60;
  // What the target supports: only its features are generated (scan on a
  // kernel without PAGEMAP_SCAN only rarely, for the errno).
  KernelProfile profile;
};

struct GeneratorStats {
  uint64_t programs = 0;
  uint64_t ops = 0;                 // ops in the generated programs
  uint64_t candidates = 0;          // ops drafted
  uint64_t dropped_unmodelled = 0;  // drafted ops the model does not model
  uint64_t padded = 0;              // programs topped up with pagemap ops to reach min_ops
};

class Generator {
 public:
  explicit Generator(GeneratorOptions options);

  // The next program: Generate(0), Generate(1), ...
  Program Next();
  // The index-th program of this seed; does not move Next()'s position.
  Program Generate(uint64_t index);

  const GeneratorOptions& options() const { return opts_; }
  const GeneratorStats& stats() const { return stats_; }

 private:
  GeneratorOptions opts_;
  uint64_t next_ = 0;
  GeneratorStats stats_;
};

}  // namespace mmdiff
