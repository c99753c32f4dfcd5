#include "fuzz/coverage.h"

#include <algorithm>

#include "model/model.h"
#include "prog/op_table.h"

namespace mmdiff {
namespace {

constexpr uint32_t kMaxPagesPerOp = 16;

uint64_t Mix(uint64_t h, uint64_t v) {
  h ^= v + 0x9e3779b97f4a7c15ULL + (h << 6) + (h >> 2);
  return h * 0xff51afd7ed558ccdULL;
}

// The abstract PTE state of one page (see coverage.h).
uint8_t PteState(const MmState& st, const Process& p, uint32_t page) {
  const Pte* pte = st.GetPte(p, page);
  if (!pte) return 0;
  uint8_t kind = 0;
  switch (pte->kind) {
    case PteKind::kPresent: {
      const PageObj& obj = st.pages[pte->page];
      if (pte->page == kZeroPage) kind = 3;
      else if (!obj.anon) kind = 4;
      else kind = obj.mapcount > 1 ? 2 : 1;
      break;
    }
    case PteKind::kSwap: kind = 5; break;
    case PteKind::kUffdMarker: kind = 6; break;
    case PteKind::kGuard: kind = 7; break;
  }
  return static_cast<uint8_t>(kind | (pte->soft_dirty << 3) | (pte->uffd_wp << 4));
}

// The VMA's kind and registration, 0xff outside any VMA.
uint8_t VmaState(const MmState& st, const Process& p, uint32_t page) {
  int vi = st.VmaAt(p, page);
  if (vi < 0) return 0xff;
  const Vma& v = p.vmas[vi];
  return static_cast<uint8_t>(static_cast<uint8_t>(v.kind) | (v.shared << 2) | (v.uffd_modes << 3) |
                              (static_cast<uint8_t>(v.prot) << 6));
}

// The pages an op is about: its range, or for whole-process ops (fork,
// clear_refs, exit, file ops) the process's first mapped pages.
std::vector<uint32_t> PagesOf(const Op& op, const MmState& st) {
  std::vector<uint32_t> pages;
  bool ranged = false;
  for (const ArgSpec& spec : GetOpInfo(op.kind).args) ranged |= spec.kind == ArgKind::kPage;
  if (ranged) {
    uint32_t n = op.kind == OpKind::kRead || op.kind == OpKind::kWrite ? 1 : std::max(op.npages, 1u);
    for (uint32_t i = 0; i < n && pages.size() < kMaxPagesPerOp; i++) pages.push_back(op.page + i);
    if (op.kind == OpKind::kMremap && (op.flags & kFlagMove))
      for (uint32_t i = 0; i < op.new_npages && pages.size() < kMaxPagesPerOp * 2; i++)
        pages.push_back(op.new_page + i);
    return pages;
  }
  if (op.proc < st.procs.size())
    for (const auto& entry : st.procs[op.proc].ptes) {
      if (pages.size() == kMaxPagesPerOp) break;
      pages.push_back(entry.first);
    }
  return pages;
}

}  // namespace

bool CoverageVisitor::Before(const Model& m, const ReplayStep& s) {
  const MmState& st = m.state();
  pages_ = PagesOf(s.op, st);
  before_.clear();
  // A fork's "after" is the child's view of the parent's pages.
  after_proc_ = s.op.kind == OpKind::kFork ? static_cast<int>(st.procs.size()) : s.op.proc;
  for (uint32_t page : pages_) {
    const Process& p = st.procs[s.op.proc];
    before_.push_back({PteState(st, p, page), VmaState(st, p, page)});
  }
  const Result& r = s.observed;
  op_hash_ = Mix(Mix(Mix(static_cast<uint64_t>(s.op.kind), static_cast<uint64_t>(r.kind)), static_cast<uint64_t>(r.err)),
                 r.uffd_faults);
  out_.push_back(op_hash_);
  return true;
}

void CoverageVisitor::After(const Model& m, const ReplayStep&) {
  const MmState& after = m.state();
  for (size_t k = 0; k < pages_.size(); k++) {
    uint8_t state_after = 0xff;
    if (after_proc_ < static_cast<int>(after.procs.size()) && after.procs[after_proc_].alive)
      state_after = PteState(after, after.procs[after_proc_], pages_[k]);
    out_.push_back(Mix(Mix(Mix(op_hash_, before_[k].second), before_[k].first), state_after));
  }
}

std::vector<uint64_t> CoverageVisitor::Features() {
  std::vector<uint64_t> out = out_;
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

std::vector<uint64_t> TraceFeatures(const Program& prog, const Trace& trace, const KernelProfile& profile) {
  // Only what the model allows counts: the checker's test, without its verdict.
  struct Allowed : ReplayVisitor {
    bool Before(const Model&, const ReplayStep& s) override { return PredictionAllows(s.pred, s.observed); }
  } allowed;
  CoverageVisitor coverage;
  ReplayVisitors both(&allowed, &coverage);
  Replay(prog, &trace, profile, &both);
  return coverage.Features();
}

std::vector<uint64_t> KcovFeatures(const std::vector<uint32_t>& kernel_cov) {
  // The top 32 bits say "kcov": model features are 64-bit hashes, which
  // land there with probability 2^-32 per feature.
  constexpr uint64_t kKernelSpace = uint64_t{0x6b636f76} << 32;
  std::vector<uint64_t> out;
  out.reserve(kernel_cov.size());
  for (uint32_t f : kernel_cov) out.push_back(kKernelSpace | f);
  return out;
}

size_t CoverageMap::Merge(const std::vector<uint64_t>& features) {
  size_t added = 0;
  for (uint64_t f : features) added += seen_.insert(f).second;
  return added;
}

size_t CoverageMap::CountNew(const std::vector<uint64_t>& features) const {
  size_t n = 0;
  for (uint64_t f : features) n += !seen_.count(f);
  return n;
}

}  // namespace mmdiff
