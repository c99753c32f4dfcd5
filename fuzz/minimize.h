// Minimization of a failing program (syzkaller prog/minimization.go style).
//
// Minimize() knows only the program's structure (the op table): it proposes
// smaller or simpler candidates and keeps each one the predicate still calls
// failing. The predicate decides what "the same failure" means; for a kernel
// divergence that is MinimizeOnTarget's: the candidate is valid and modelled
// (checked on the model first, at model speed), and a run on the target
// gives a judgement with the same MinimizeSignature.
//
// Passes, repeated until none makes progress:
//   processes  remove a fork with every op of its process and of the
//              processes it forked; later processes are renumbered
//   ops        delta debugging over the other ops (halves, quarters, ... single
//              ops, last chunks first); `requires` lines stay until the
//              end, when DropUnneededRequires keeps only what matters
//   uffd       remove a process's whole userfaultfd setup (uffd_open and its
//              register/unregister/uffd_wp ops) at once
//   simplify   per op: fewer option words and features, narrower ranges and
//              smaller page counts, rw for prot, anon for backing, private
//              for sharing, scan masks back to their defaults
//   renumber   shift the arena pages so the lowest is 0 (a multiple of 512
//              when the program used 2 MiB-aligned ranges), then close the
//              gaps between used ranges to one page
#pragma once

#include <atomic>
#include <functional>
#include <string>

#include "model/judge.h"
#include "model/profile.h"
#include "prog/program.h"
#include "prog/result.h"
#include "target/target.h"

namespace mmdiff {

struct MinimizeStats {
  int attempts = 0;           // candidates given to the predicate
  int accepted = 0;           // of them, still failing (steps taken)
  size_t ops_before = 0;
  size_t ops_after = 0;
  bool interrupted = false;   // `stop` was set: the result is the best so far
  // Optional: called after every accepted step with a few words on what
  // changed ("removed ops 3..4") and the program now.
  std::function<void(const std::string& step, const Program& now)> on_step;
};

// Returns the smallest program found that `still_fails`; `prog` itself is
// assumed to fail and is never passed to the predicate. Candidates that
// Validate() rejects are not passed either, nor any candidate twice. Returns
// early (with stats->interrupted) once `stop` is set; `stats` and `stop` may
// be null.
Program Minimize(const Program& prog, std::function<bool(const Program&)> still_fails,
                 MinimizeStats* stats, std::atomic<bool>* stop);

// The failure minimization keeps: FindingSignature (fuzz/findings.h) of a
// failed judgement, made finer for a failed "=> RESULT" expectation (which
// op kind, which field, without numbers). "" for a pass or a skip.
std::string MinimizeSignature(const Judgement& j);

// The model's quick filter: `prog` is valid, needs no feature `profile`
// lacks, and when `fully_modelled`, the model predicts every op.
bool ModelAccepts(const Program& prog, const KernelProfile& profile, bool fully_modelled);

// The features of the program's `requires` lines that this program does not
// depend on (the generator draws them at random) go. A feature stays when an
// op asks for it by name (uffd_register wp, madvise hugepage, a scan, ...)
// or when the model predicts a different trace on a kernel without it: the
// program, or its C reproducer, would be wrong there rather than skipped.
// Each removal must keep `still_fails`.
Program DropUnneededRequires(const Program& prog, const KernelProfile& profile,
                             const std::function<bool(const Program&)>& still_fails);

struct TargetMinimizeOptions {
  int confirm_runs = 5;  // re-runs of the result, for its reliability
  // A candidate counts as failing when it diverged the same way in one run;
  // target errors (executor died) are retried once.
};

struct TargetMinimizeResult {
  Program program;           // the minimized program
  Trace trace;               // its first confirmation run
  Judgement judgement;       // of that run
  std::string signature;     // MinimizeSignature of the original and the result
  int reproduced = 0;        // confirmation runs that failed with `signature`
  int runs = 0;
};

// Runs `prog` once on `target`, minimizes it while the judgement keeps its
// signature (candidates filtered by ModelAccepts first), then re-runs the
// result options.confirm_runs times. Unless the failure is a failed
// "=> RESULT", the program's expectations are dropped first (the result has
// none). False with `err` when the program does
// not fail on the target to begin with, or the target cannot run it.
bool MinimizeOnTarget(const Program& prog, Target* target, const KernelProfile& profile,
                      const TargetMinimizeOptions& options, MinimizeStats* stats,
                      std::atomic<bool>* stop, TargetMinimizeResult* out, std::string* err);

}  // namespace mmdiff
