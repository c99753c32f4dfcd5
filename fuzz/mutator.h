// Structure-aware mutation of programs: a named table of mutators in the
// style of libFuzzer's MutationDispatcher, shared by the campaign runner, the
// libFuzzer custom mutator and the AFL++ custom mutator library
// (fuzz/engines/).
//
// Every mutator has the same signature, works on a Program (never on bytes)
// and returns false when it does not apply (no op it could change, no
// second process, an empty corpus, a full program). The mutators that draw
// new values walk a Model to the op they change and draw through a Drafter
// (draft.h), the generator's own machinery: an inserted op is drafted from the
// state at its position exactly like a generated one; a changed argument
// stays in its ArgSpec's domain, mostly chosen from the state there.
//
// After a mutator applied, KeepModelled re-walks the whole program through a
// fresh Model (Predict, then Apply with the prediction as if the kernel had
// answered it) and drops every op that
//   - runs in a process that does not exist at that point (process numbers
//     are renumbered when a fork is dropped or moved),
//   - fails the static checks of Validate(),
//   - or the model reports `unmodelled`,
// and keeps at most max_ops ops. A mutation that leaves the program
// unchanged, empty or invalid is retried with another draw; Mutate never
// returns an invalid program (Validate() holds, and every op is modelled).
// Expectations ("=> RESULT") and source lines are dropped: they described
// the program before the mutation.
//
// Reproducible: the result depends only on (program, rng state, corpus,
// profile, options). Not thread-safe (stats); use one Mutator per thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "fuzz/rng.h"
#include "model/profile.h"
#include "prog/program.h"

namespace mmdiff {

struct MutatorStats {
  uint64_t tried = 0;         // times the mutator was drawn
  uint64_t applied = 0;       // ... and produced a changed, valid program
  uint64_t new_coverage = 0;  // ... whose program the caller credited (CreditLast)
};

struct MutatorOptions {
  size_t max_ops = 60;     // programs are cut to this many ops
  int max_attempts = 16;   // mutator draws per Mutate() before giving up
};

// What KeepModelled dropped, summed over a Mutator's lifetime.
struct RepairStats {
  uint64_t walked = 0;                // ops walked through the model
  uint64_t dropped_no_process = 0;    // op of a process that does not exist (any more)
  uint64_t dropped_invalid = 0;       // failed Validate()'s per-op checks
  uint64_t dropped_unmodelled = 0;    // the model does not model it in that state
  uint64_t dropped_too_many = 0;      // past max_ops, or forks past the process limit
  uint64_t dropped() const {
    return dropped_no_process + dropped_invalid + dropped_unmodelled + dropped_too_many;
  }
};

// Re-walks `prog` through a fresh Model and keeps only what the model
// models (see above); expectations are cleared. Returns false when the
// result fails Validate() (does not happen for programs of existing ops; a
// last guard).
bool KeepModelled(Program* prog, const KernelProfile& profile, size_t max_ops, RepairStats* stats);

class Mutator {
 public:
  explicit Mutator(KernelProfile profile, MutatorOptions options = {});
  ~Mutator();

  // Mutates `prog` in place. `corpus` is where splice takes its second
  // program from (may be empty). On success returns true and sets *which
  // (if not null) to the index in Names() of the mutator that applied; on
  // failure (nothing applied in max_attempts draws) leaves *prog unchanged
  // and returns false. An empty or invalid *prog is first made valid.
  bool Mutate(Program* prog, Rng& rng, std::span<const Program> corpus, size_t* which = nullptr);

  // Per mutator, in Names() order.
  std::span<const MutatorStats> stats() const { return stats_; }
  const RepairStats& repair_stats() const { return repair_; }
  // The caller found new coverage with a program `mutator_index` produced.
  void CreditLast(size_t mutator_index);
  // The index of the mutator that applied last, or -1.
  int last() const { return last_; }

  // The mutators' names, e.g. "insert_op", "splice".
  static std::span<const char* const> Names();
  // The index of `name` in Names(), or -1.
  static int IndexOf(const char* name);

  // Applies exactly mutator `index` once (plus KeepModelled); false if it
  // did not apply or left the program unchanged. For tests.
  bool MutateWith(size_t index, Program* prog, Rng& rng, std::span<const Program> corpus);

  const KernelProfile& profile() const { return profile_; }
  const MutatorOptions& options() const { return opts_; }

 private:
  bool TryOne(size_t index, Program* prog, Rng& rng, std::span<const Program> corpus);

  KernelProfile profile_;
  MutatorOptions opts_;
  std::vector<MutatorStats> stats_;
  RepairStats repair_;
  int last_ = -1;
};

}  // namespace mmdiff
