// madvise(): every advice of the op table (mm/madvise.c; SEMANTICS.md §3.4,
// §4.6, §4.7, §6 items 3 and 7).
#include <algorithm>
#include <cerrno>

#include "model/model.h"

namespace mmdiff {
namespace {

Result Ok(uint8_t faults = 0) {
  Result r;
  r.kind = ResultKind::kOk;
  r.uffd_faults = faults;
  return r;
}
Result Err(int e) {
  Result r;
  r.kind = ResultKind::kErr;
  r.err = e;
  return r;
}

bool ChangesFlags(Advice a) {
  switch (a) {
    case Advice::kHugepage: case Advice::kNohugepage: case Advice::kDontfork: case Advice::kDofork:
    case Advice::kWipeonfork: case Advice::kKeeponfork:
      return true;
    case Advice::kDontneed: case Advice::kFree: case Advice::kRemove: case Advice::kWillneed:
    case Advice::kPageout: case Advice::kCold: case Advice::kPopulateRead: case Advice::kPopulateWrite:
    case Advice::kGuardInstall: case Advice::kGuardRemove:
      return false;
  }
  return false;
}

}  // namespace

Result Model::DoMadvise(Step& s) {
  const Op& op = s.op;
  Advice advice = op.advice;
  // madvise_behavior_valid(): unknown advice fails before anything else.
  if ((advice == Advice::kGuardInstall || advice == Advice::kGuardRemove) && !profile_.guard)
    return Err(EINVAL);
  if (op.npages == 0) return Ok();
  Process& p = st_.procs[op.proc];
  uint32_t lo = op.page, hi = op.page + op.npages;

  if (advice == Advice::kPopulateRead || advice == Advice::kPopulateWrite) {
    // madvise_populate(): a hole → ENOMEM at once; permission problems →
    // EINVAL; SIGBUS/SIGSEGV while faulting → EFAULT.
    bool write = advice == Advice::kPopulateWrite;
    uint8_t faults = 0;
    for (uint32_t page = lo; page < hi;) {
      int vi = st_.VmaAt(p, page);
      if (vi < 0) return Err(ENOMEM);
      const Vma& v = p.vmas[vi];
      if (!v.Readable() || (write && !v.Writable())) return Err(EINVAL);
      uint32_t vend = std::min(hi, v.end);
      for (; page < vend; page++) {
        const Pte* pte = p.ptes.Find(page);
        if (pte && pte->kind == PteKind::kGuard) return Err(EFAULT);
        bool none_like = !pte || pte->kind == PteKind::kUffdMarker;
        if (v.kind != MemKind::kAnon && none_like && v.FilePage(page) >= st_.files[v.obj].size)
          return Err(EFAULT);
        if (ThpPossible(v, page)) s.pred->unmodelled = "populate of a THP-eligible range";
        if (!s.apply) {
          // A dry run cannot fault pages in; uffd faults of populate are not
          // predicted yet.
          if (v.uffd_modes) s.pred->unmodelled = "populate of a uffd-registered range";
          continue;
        }
        FaultIn(op.proc, page, write, &faults);
      }
    }
    return Ok(faults);
  }

  // madvise_walk_vmas(): VMAs in order; holes give ENOMEM at the end; an
  // error of one VMA stops the walk (earlier VMAs keep their change).
  int unmapped = 0;
  uint32_t addr = lo;
  while (addr < hi) {
    int vi = st_.VmaAt(p, addr);
    if (vi < 0) {
      unmapped = ENOMEM;
      size_t n = st_.FirstVmaEnding(p, addr);
      if (n == p.vmas.size() || p.vmas[n].start >= hi) break;
      addr = p.vmas[n].start;
      continue;
    }
    const Vma& v = p.vmas[vi];
    uint32_t a = addr, b = std::min(hi, v.end);
    addr = b;
    switch (advice) {
      case Advice::kDontneed: {
        if (!s.apply) break;
        ZapRange(op.proc, a, b, Zap::kDontneed);
        // PT_RECLAIM (current kernels): a zap covering a whole 2 MiB slot may
        // free its now-empty PTE table (§6 item 3): the model cannot know.
        if (!profile_.legacy_61) {
          for (uint32_t slot = MmState::Slot(a); slot <= MmState::Slot(b - 1); slot++) {
            uint32_t s0 = slot * kPagesPerPmd, s1 = s0 + kPagesPerPmd;
            if (s0 < a || s1 > b || !p.pt.Find(slot)) continue;
            auto it = p.ptes.LowerBound(s0);
            if (it == p.ptes.end() || it->first >= s1) p.pt[slot] = PtState::kUnknown;
          }
        }
        break;
      }
      case Advice::kFree:
        if (!v.IsAnonymous()) return Err(EINVAL);
        if (!s.apply) break;
        // madvise_free_pte_range(): exclusive anonymous pages become lazyfree
        // (clean; soft-dirty kept); shared (COW) pages and the zero page are skipped.
        for (auto it = p.ptes.LowerBound(a); it != p.ptes.end() && it->first < b; ++it) {
          const Pte& pte = it->second;
          if (pte.kind != PteKind::kPresent || pte.page == kZeroPage) continue;
          PageObj& pg = st_.pages[pte.page];
          if (pg.anon && pg.mapcount == 1) pg.lazyfree = true;
        }
        break;
      case Advice::kRemove:
        // madvise_remove(): only shared writable file/shmem mappings; punches a hole.
        if (v.IsAnonymous()) return Err(EINVAL);
        if (!v.shared || !v.Writable()) return Err(EACCES);
        if (!s.apply) break;
        UnmapMapping(v.obj, v.FilePage(a), v.FilePage(b), /*even_cows=*/false);
        st_.DropCache(v.obj, v.FilePage(a), v.FilePage(b));
        break;
      case Advice::kWillneed:
      case Advice::kCold:
        break;  // readahead / deactivation: nothing pagemap shows
      case Advice::kPageout: {
        if (!s.apply) break;
        // madvise_cold_or_pageout_pte_range() + reclaim, on a machine without
        // memory pressure: pages mapped once are reclaimed if clean (lazyfree
        // anon, unwritten file pages); dirty anon pages go to swap if there is
        // swap, else stay; shmem pages need swap.
        std::vector<uint32_t> pages;
        for (auto it = p.ptes.LowerBound(a); it != p.ptes.end() && it->first < b; ++it)
          pages.push_back(it->first);
        for (uint32_t page : pages) {
          Pte pte = *p.ptes.Find(page);
          if (pte.kind != PteKind::kPresent || pte.page == kZeroPage) continue;
          PageObj& pg = st_.pages[pte.page];
          if (pg.mapcount != 1) continue;
          if (pg.anon) {
            if (pg.lazyfree) {
              st_.ClearPte(p, page);
            } else if (profile_.swap) {
              Pte sw = pte;
              sw.kind = PteKind::kSwap;
              st_.SetPte(p, page, sw);
            }
          } else if (st_.files[v.obj].kind == MemKind::kFile && !pg.dirty) {
            st_.ClearPte(p, page);
            // try_to_unmap_one() leaves a marker for a uffd-wp file PTE.
            if (pte.uffd_wp && v.UffdWp())
              st_.SetPte(p, page, Pte{PteKind::kUffdMarker, false, true, kZeroPage});
          }
        }
        break;
      }
      case Advice::kPopulateRead:
      case Advice::kPopulateWrite:
        break;  // handled above
      case Advice::kHugepage: case Advice::kNohugepage: case Advice::kDontfork: case Advice::kDofork:
      case Advice::kWipeonfork: case Advice::kKeeponfork: {
        if (advice == Advice::kWipeonfork && (v.kind != MemKind::kAnon || v.shared)) return Err(EINVAL);
        if (!s.apply) break;
        st_.SplitAt(p, a);
        st_.SplitAt(p, b);
        Vma& w = p.vmas[st_.VmaAt(p, a)];
        switch (advice) {
          case Advice::kHugepage: w.hugepage = true; w.nohugepage = false; break;
          case Advice::kNohugepage: w.nohugepage = true; w.hugepage = false; break;
          case Advice::kDontfork: w.dontfork = true; break;
          case Advice::kDofork: w.dontfork = false; break;
          case Advice::kWipeonfork: w.wipeonfork = true; break;
          case Advice::kKeeponfork: w.wipeonfork = false; break;
          default: break;
        }
        break;
      }
      case Advice::kGuardInstall: {
        // madvise_guard_install(): zap, then a guard marker in every PTE. A
        // file VMA whose zap re-installs uffd-wp markers is not modelled.
        bool blocked = false;
        if (!v.IsAnonymous() && v.UffdWp())
          for (auto it = p.ptes.LowerBound(a); it != p.ptes.end() && it->first < b; ++it)
            blocked |= it->second.uffd_wp || it->second.kind == PteKind::kUffdMarker;
        if (blocked) s.pred->unmodelled = "guard_install over uffd-wp file pages";
        if (!s.apply) break;
        if (v.IsAnonymous()) EnsureAnonVma(p, vi);  // markers must be copied at fork
        ZapRange(op.proc, a, b, Zap::kDontneed);
        for (uint32_t page = a; page < b; page++) {
          const Pte* pte = p.ptes.Find(page);
          if (pte && pte->kind == PteKind::kGuard) continue;
          st_.SetPte(p, page, Pte{PteKind::kGuard, false, false, kZeroPage});
        }
        break;
      }
      case Advice::kGuardRemove: {
        if (!s.apply) break;
        std::vector<uint32_t> guards;
        for (auto it = p.ptes.LowerBound(a); it != p.ptes.end() && it->first < b; ++it)
          if (it->second.kind == PteKind::kGuard) guards.push_back(it->first);
        for (uint32_t page : guards) st_.ClearPte(p, page);
        break;
      }
    }
  }
  if (s.apply && ChangesFlags(advice)) st_.MergeAround(p, lo, hi);
  return unmapped ? Err(unmapped) : Ok();
}

}  // namespace mmdiff
