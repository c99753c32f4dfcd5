// The root cause of a minimized finding: the step after which the kernel
// and the model first disagree about the diverged pages.
//
// A divergence shows where a wrong state was observed (a pagemap bit, a
// scan, a read), not the step that made it wrong: one broken rule (a
// MADV_DONTNEED that keeps the page, a write that keeps uffd-wp) is seen
// through many observations, each its own signature. RootCause runs the
// minimized program once more with a pagemap read (and a scan) of those
// pages after every step that changes state, in every process, and judges
// it: the first read that diverges names the step just before it. Two
// findings with the same cause (that step without its pages and counts, the
// state that first read shows wrong: mapping, uffd-wp or soft-dirty, and the
// memory kind as the kernel's fault paths split it: private or shared) are
// one finding (FindingStore::Fold).
#pragma once

#include <string>
#include <vector>

#include "model/judge.h"
#include "model/profile.h"
#include "prog/program.h"
#include "target/target.h"

namespace mmdiff {

// The probe program: `prog`'s ops before the diverging op `upto`, with a
// `pagemap lo n` (and, `with_scan`, a `scan lo n`: it shows huge and zero
// pages) in every living process after each op that changes state (before
// an mremap moved the pages, at their source). probe_of[k]: for an inserted
// read, the index in `prog` of the step before it; SIZE_MAX for `prog`'s
// own ops.
Program WithPagemapReads(const Program& prog, size_t upto, uint32_t lo, uint32_t n, bool with_scan,
                         std::vector<size_t>* probe_of);

// An op as PrintOp writes it, without numbers (pages, counts, slots), its
// options' values and its process: what it does, not where or with which
// bits ("madvise # # dontneed", "scan # # ret= max="); clear_refs keeps its
// value.
std::string StepWithoutNumbers(const Op& op);
// The state-changing ops before `diverging_op`, StepWithoutNumbers, joined.
std::string MinimizedShape(const Program& prog, size_t diverging_op);

// "cause|STEP|STATE|KIND" (STEP: StepWithoutNumbers of the step; KIND
// left out when the step only observes): the step before the first read that
// diverges; where every read agreed (the probe passed), the step before the
// first read the model allowed only through a doubt whether a page is still
// mapped (lazyfree-may-be-discarded, reclaim-may-unmap, reuse-may-copy), for
// a wrong mapping, uffd-wp or soft-dirty; else the diverging op itself. "" when the probe cannot say (its run failed, or it diverged
// elsewhere: not reproducible): then the caller keeps its own key.
std::string RootCause(const Program& prog, const Judgement& j, Target* target, const KernelProfile& profile);

// The key FindingStore::Fold folds by: RootCause, else "shape|CLASS|" and
// the minimized program's MinimizedShape (the same program seen through
// another observation).
std::string FoldKey(const Program& prog, const Judgement& j, Target* target, const KernelProfile& profile);

}  // namespace mmdiff
