// Model-state coverage: the abstract transitions a program drove the model
// through, as feedback that keeps a program in the campaign's corpus when it
// reaches something new. No kernel coverage is needed (the Debian guest
// kernels have no KCOV): the model's view of the mm is the map; where the
// kernel has KCOV (vmimages/build-kernel), its edges are added beside it
// (KcovFeatures below).
//
// A feature is a hash of (op kind, memory kind and uffd registration of the
// VMA, PTE state before, PTE state after, the result's kind, errno and uffd
// faults) for each page an op touches (at most 16 per op), plus one per op
// for its result alone. PTE state abstracts kind (none, anon exclusive, anon
// shared, zero page, file page, swap, uffd-wp marker, guard), soft-dirty and
// uffd-wp.
#pragma once

#include <cstdint>
#include <unordered_set>
#include <vector>

#include "model/profile.h"
#include "model/replay.h"
#include "prog/program.h"
#include "prog/result.h"

namespace mmdiff {

// Coverage as a visitor of the checker's walk (model/replay.h): a campaign
// judges a trace and measures its coverage on one walk of the model
// (JudgeKernelRun(..., &coverage)). It records what the steps the checker
// allowed did; Features() sorts and dedups them.
class CoverageVisitor : public ReplayVisitor {
 public:
  bool Before(const Model& m, const ReplayStep& s) override;
  void After(const Model& m, const ReplayStep& s) override;
  std::vector<uint64_t> Features();

 private:
  std::vector<uint64_t> out_;
  std::vector<uint32_t> pages_;
  std::vector<std::pair<uint8_t, uint8_t>> before_;
  uint64_t op_hash_ = 0;
  int after_proc_ = 0;
};

// Features of a trace on a walk of their own (the corpus minimizer, tests):
// stops at the first op the model does not allow or does not model.
std::vector<uint64_t> TraceFeatures(const Program& prog, const Trace& trace, const KernelProfile& profile);

// Kernel coverage (Trace::kernel_cov: hashed KCOV edges, executor/kcov.h)
// as features of their own namespace, beside the model's: two kernel paths
// the model treats alike (a COW copy or a page reuse, a fault served alone
// or by fault-around) are new coverage too.
std::vector<uint64_t> KcovFeatures(const std::vector<uint32_t>& kernel_cov);

class CoverageMap {
 public:
  // Adds features; returns how many were new.
  size_t Merge(const std::vector<uint64_t>& features);
  // Without adding: how many are new.
  size_t CountNew(const std::vector<uint64_t>& features) const;
  size_t size() const { return seen_.size(); }

 private:
  std::unordered_set<uint64_t> seen_;
};

}  // namespace mmdiff
