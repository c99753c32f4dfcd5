#include "prog/op_traits.h"

namespace mmdiff {

std::vector<PageRange> OpRanges(const Op& op) {
  switch (GetOpInfo(op.kind).pages) {
    case OpPages::kNone: return {};
    case OpPages::kOne: return {{op.page, 1}};
    case OpPages::kRange: return {{op.page, op.npages}};
    case OpPages::kRangeAndDest:
      return {{op.page, op.npages}, {(op.flags & kFlagMove) ? op.new_page : op.page, op.new_npages}};
    case OpPages::kAll: return {{0, kArenaPages}};
  }
  return {};
}

bool OpNamesPage(const Op& op, uint32_t page) {
  for (const PageRange& r : OpRanges(op))
    if (r.Contains(page)) return true;
  return false;
}

bool Observes(const Op& op) {
  return HasTrait(op.kind, kTraitObserves) && !(op.kind == OpKind::kScan && (op.flags & kFlagWpMatching));
}

uint32_t FeaturesNamed(const Op& op) {
  uint32_t used = 0;
  uint32_t cats = op.scan_req | op.scan_inv | op.scan_any | op.scan_ret;
  switch (op.kind) {
    case OpKind::kClearRefs:
      if (op.value == 4) used |= kFeatSoftDirty;
      break;
    case OpKind::kMmap:
      if (op.flags & kFlagHugetlb) used |= kFeatHugetlb;
      break;
    case OpKind::kMadvise:
      if (op.advice == Advice::kHugepage) used |= kFeatThp;
      if (op.advice == Advice::kGuardInstall || op.advice == Advice::kGuardRemove) used |= kFeatGuard;
      if (op.advice == Advice::kPageout) used |= kFeatSwap;
      break;
    case OpKind::kUffdOpen:
      if (op.uffd_features & kUffdWpAsync) used |= kFeatWpAsync | kFeatUffdWp;
      if (op.uffd_features & kUffdWpUnpopulated) used |= kFeatWpUnpopulated | kFeatUffdWp;
      break;
    case OpKind::kUffdRegister:
      if (op.uffd_modes & kUffdModeWp) used |= kFeatUffdWp;
      break;
    case OpKind::kUffdWp:
      used |= kFeatUffdWp;
      break;
    case OpKind::kScan:
      used |= kFeatPagemapScan;
      if (cats & kCatSoftDirty) used |= kFeatScanSoftDirty | kFeatSoftDirty;
      if (cats & kCatGuard) used |= kFeatGuard;
      if (cats & kCatHuge) used |= kFeatThp;
      if (cats & (kCatWpAllowed | kCatWritten)) used |= kFeatUffdWp;
      break;
    // No feature by name: a new op that needs one adds its case here.
    case OpKind::kRequires: case OpKind::kMunmap: case OpKind::kMprotect: case OpKind::kMremap:
    case OpKind::kRead: case OpKind::kWrite: case OpKind::kFork: case OpKind::kExit: case OpKind::kMemfd:
    case OpKind::kFile: case OpKind::kFtruncate: case OpKind::kFwrite: case OpKind::kFpunch:
    case OpKind::kUffdUnregister: case OpKind::kPagemap:
      break;
  }
  return used;
}

uint32_t FeaturesNamed(const Program& prog) {
  uint32_t used = 0;
  for (const Op& op : prog.ops) used |= FeaturesNamed(op);
  return used;
}

Lineage LineageOf(const Program& prog) {
  Lineage l;
  int next = 1;
  for (size_t i = 0; i < prog.ops.size(); i++)
    if (HasTrait(prog.ops[i].kind, kTraitForks) && next < kMaxProcs) {
      l.parent[next] = prog.ops[i].proc;
      l.fork_at[next] = i;
      next++;
    }
  return l;
}

bool InHistory(const Program& prog, const Lineage& l, size_t j, int proc, size_t i) {
  for (;;) {
    if (j >= i) return false;
    if (prog.ops[j].proc == proc) return true;
    if (proc == 0) return false;
    i = l.fork_at[proc];
    proc = l.parent[proc];
  }
}

}  // namespace mmdiff
