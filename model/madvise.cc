// madvise(): every advice of the op table (mm/madvise.c; docs/CONTRACT.md §4.4,
// §5.5, §5.6, §11.2).
#include <algorithm>
#include <cerrno>

#include "model/model.h"
#include "model/result_make.h"

namespace mmdiff {
namespace {

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
  // mm/madvise.c madvise_behavior_valid(): unknown advice fails before
  // anything else (MADV_GUARD_INSTALL/REMOVE came in 6.13: neither 6.1 nor
  // 6.12 has them).
  if ((advice == Advice::kGuardInstall || advice == Advice::kGuardRemove) && !profile_.guard)
    return Err(EINVAL);  // mm/madvise.c madvise_behavior_valid()
  if (op.npages == 0) return Ok();
  Process& p = st_.procs[op.proc];
  uint32_t lo = op.page, hi = op.page + op.npages;

  if (advice == Advice::kPopulateRead || advice == Advice::kPopulateWrite) {
    // madvise_populate(): a hole → ENOMEM at once; permission problems →
    // EINVAL; SIGBUS/SIGSEGV while faulting → EFAULT. 6.1 populates VMA by
    // VMA in madvise_walk_vmas(): a hole is skipped and reported (ENOMEM)
    // at the end ([EMP] 6.1.192: pages after the hole written).
    bool write = advice == Advice::kPopulateWrite;
    uint8_t faults = 0;
    bool hole = false;
    for (uint32_t page = lo; page < hi;) {
      int vi = st_.VmaAt(p, page);
      if (vi < 0 && !profile_.Has(kBehPopulateStopsAtHole)) {
        hole = true;
        size_t n = st_.FirstVmaEnding(p, page);
        if (n == p.vmas.size() || p.vmas[n].start >= hi) break;
        page = p.vmas[n].start;
        continue;
      }
      if (vi < 0) return Err(ENOMEM);  // 6.12 mm/madvise.c madvise_populate(): no VMA
      const Vma& v = p.vmas[vi];
      // mm/gup.c faultin_page_range() (6.1: faultin_vma_page_range()) →
      // check_vma_flags(): access the VMA lacks; mm/madvise.c madvise_populate()
      // passes the EINVAL on.
      if (!v.Readable() || (write && !v.Writable())) return Err(EINVAL);
      uint32_t vend = std::min(hi, v.end);
      for (; page < vend; page++) {
        const Pte* pte = p.ptes.Find(page);
        // mm/memory.c handle_pte_marker(): a guard marker faults VM_FAULT_SIGSEGV
        // (6.13+); mm/madvise.c madvise_populate(): EFAULT.
        if (pte && pte->kind == PteKind::kGuard) return Err(EFAULT);
        bool none_like = !pte || pte->kind == PteKind::kUffdMarker;
        if (v.kind != MemKind::kAnon && none_like && v.FilePage(page) >= st_.files[v.obj].size) {
          // The SIGBUS fault still did its fault-around (or anon_vma_prepare()).
          FaultIn(op.proc, page, write, &faults);
          // mm/madvise.c madvise_populate(): VM_FAULT_SIGBUS → EFAULT.
          return Err(EFAULT);
        }
        // GUP faults like an access: a THP, the huge zero page, or a split.
        if (const char* why = ThpFaultUnmodelled(p, v, page)) s.pred->unmodelled = why;
        // uffd faults of populate are not predicted yet; an async WP
        // registration raises none (handle_userfault() is not reached:
        // do_wp_page() / wp_huge_pmd() resolve it in the kernel).
        bool async_wp_only = v.uffd_modes == kUffdModeWp && v.uffd >= 0 && st_.uffds[v.uffd].Async();
        if (v.uffd_modes && !async_wp_only) s.pred->unmodelled = "populate of a uffd-registered range";
        // A lazyfree page reclaim may have discarded: faulting it in gives
        // the old page or a new one (the zero page for a read), worlds
        // that differ beyond their PTEs, which one walk cannot carry on
        // (FaultIn would keep only the first): say so rather than guess.
        if (const Doubt* d = p.doubts.Find(page); d && d->why == Grant::Of(Allowance::kLazyfreeMayBeDiscarded))
          s.pred->unmodelled = "populate of a page reclaim may have discarded";
        FaultIn(op.proc, page, write, &faults);
      }
    }
    if (hole) return Err(ENOMEM);  // 6.1 mm/madvise.c madvise_walk_vmas(): unmapped_error
    return Ok(faults);
  }

  // madvise_walk_vmas(): VMAs in order; holes give ENOMEM at the end; an
  // error of one VMA stops the walk (earlier VMAs keep their change).
  int unmapped = 0;
  uint32_t addr = lo;
  uint32_t changed_lo = UINT32_MAX, changed_hi = 0;  // VMAs whose flags changed
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
        if (NobodyReads(op.proc, a, b, kUffdEventRemove)) s.pred->unmodelled = "a uffd event nobody reads";
        if (profile_.mutant == Mutant::kDontneedKeepsAnon && v.kind == MemKind::kAnon && !v.shared) break;
        ZapRange(op.proc, a, b, Zap::kDontneed);
        // PT_RECLAIM (current kernels): a zap covering a whole 2 MiB slot may
        // free its now-empty PTE table (docs/CONTRACT.md §11.2): the model cannot know.
        {
          for (uint32_t slot = MmState::Slot(a); slot <= MmState::Slot(b - 1); slot++) {
            uint32_t s0 = slot * kPagesPerPmd, s1 = s0 + kPagesPerPmd;
            if (s0 < a || s1 > b || !p.pt.Find(slot)) continue;
            auto it = p.ptes.LowerBound(s0);
            if (it == p.ptes.end() || it->first >= s1) p.pt[slot] = PtState::kUnknown;
          }
        }
        break;
      }
      case Advice::kFree: {
        // mm/madvise.c madvise_dontneed_free() sends EVENT_REMOVE for
        // MADV_FREE as for MADV_DONTNEED (userfaultfd_remove()) and waits for
        // it to be read, before madvise_free_single_vma() refuses a VMA that
        // is not anonymous (EINVAL).
        if (NobodyReads(op.proc, a, b, kUffdEventRemove)) s.pred->unmodelled = "a uffd event nobody reads";
        if (!v.IsAnonymous()) return Err(EINVAL);  // mm/madvise.c madvise_free_single_vma()
        // madvise_free_huge_pmd() cleans a whole PMD (pmd_mkclean()); a
        // large folio covered in part or PTE-mapped is split (split_folio(),
        // which on current kernels maps its zero-filled pages to the zero
        // page): not modelled yet.
        if (TouchesLargeFolio(p, a, b, PmdsOk::kNone)) s.pred->unmodelled = "MADV_FREE of a THP";
        // mm/madvise.c madvise_free_pte_range(): anonymous pages become
        // lazyfree (clean; soft-dirty kept), shared (COW after fork) ones
        // too: only a folio in the swap cache or PG_dirty must be mapped
        // once ("if (folio_test_swapcache(folio) || folio_test_dirty(folio))
        // ... if (folio_mapcount(folio) != folio_nr_pages(folio)) continue").
        // A folio never swapped out is neither (an anonymous folio gets
        // PG_dirty only when reclaim unmaps it), so a shared page is marked
        // too, and once the other mappers are gone reclaim may discard it
        // ([EMP] 6.1.192, 6.12.118, 6.18.44, and 6.12 with swap). One
        // swapped out may sit in the swap cache: only exclusive ones then.
        // A swap entry is freed and its PTE cleared (free_swap_and_cache(),
        // pte_clear_not_present_full(); 6.1 and 6.12): the data is gone, and
        // its soft-dirty and uffd-wp bits with it.
        std::vector<uint32_t> swapped;
        for (auto it = p.ptes.LowerBound(a); it != p.ptes.end() && it->first < b; ++it) {
          const Pte& pte = it->second;
          if (pte.kind == PteKind::kSwap) swapped.push_back(it->first);
          if (pte.kind != PteKind::kPresent || pte.page == kZeroPage) continue;
          PageObj& pg = st_.pages[pte.page];
          if (pg.anon && (pg.mapcount == 1 || !pg.swap_cache)) pg.lazyfree = pg.not_swapbacked = true;
        }
        for (uint32_t page : swapped) st_.ClearPte(p, page);
        break;
      }
      case Advice::kRemove:
        // madvise_remove(): file/shmem mappings only (EINVAL); then
        // vma_is_shared_maywrite() (VM_SHARED|VM_MAYWRITE: every shared mapping
        // here, the executor's files are open O_RDWR) → EACCES; then punches a
        // hole. (Before 6.7 the check was VM_SHARED|VM_WRITE; the 6.1.192
        // guest has the backport: [EMP] a PROT_NONE shared mapping → ok.)
        if (v.IsAnonymous()) return Err(EINVAL);  // mm/madvise.c madvise_remove(): no vm_file
        if (!v.shared) return Err(EACCES);        // mm/madvise.c madvise_remove(): !vma_is_shared_maywrite()
        if (NobodyReads(op.proc, a, b, kUffdEventRemove)) s.pred->unmodelled = "a uffd event nobody reads";
        UnmapMapping(v.obj, v.FilePage(a), v.FilePage(b), /*even_cows=*/false);
        st_.DropCache(v.obj, v.FilePage(a), v.FilePage(b));
        break;
      case Advice::kWillneed:
        // madvise_willneed() → vfs_fadvise(WILLNEED): a regular file's pages
        // are read into the page cache (not mapped: fault-around may map
        // them later, FileObj::readahead); shmem only swaps in.
        if (v.kind == MemKind::kFile)
          st_.files[v.obj].readahead.push_back({v.FilePage(a), v.FilePage(b)});
        break;
      case Advice::kCold: {
        // madvise_cold_or_pageout_pte_range(): a whole PMD is only
        // deactivated; a large folio covered in part or PTE-mapped is split
        // (split_folio()) when mapped once: not modelled yet.
        if (TouchesLargeFolio(p, a, b, PmdsOk::kWhole)) s.pred->unmodelled = "MADV_COLD of part of a THP";
        break;  // deactivation: nothing pagemap shows
      }
      case Advice::kPageout: {
        // A PTE-mapped large folio (a THP whose PMD was split) is split when
        // the range covers it in part, else reclaimed whole: not modelled
        // yet. A PMD-mapped THP: PageOutThp().
        if (TouchesLargeFolio(p, a, b, PmdsOk::kAny)) {
          s.pred->unmodelled = "MADV_PAGEOUT of a PTE-mapped THP";
        } else if (MmState::TouchesThp(p, a, b)) {
          for (uint32_t slot = MmState::Slot(a); slot <= MmState::Slot(b - 1); slot++) {
            uint32_t s0 = slot * kPagesPerPmd;
            if (!p.thp.Find(slot)) continue;
            if (auto it = p.doubts.LowerBound(s0); it != p.doubts.end() && it->first < s0 + kPagesPerPmd)
              s.pred->unmodelled = "MADV_PAGEOUT of a THP with a page in doubt";
            if (!PageOutThp(p, slot, a <= s0 && s0 + kPagesPerPmd <= b))
              s.pred->unmodelled = "MADV_PAGEOUT of a THP whose PTEs the model does not hold";
          }
        }
        // madvise_cold_or_pageout_pte_range() isolates pages mapped once
        // (folio_mapcount() == 1 / !folio_likely_mapped_shared()), then
        // reclaim_pages() → shrink_folio_list(), on a machine without memory
        // pressure: anonymous pages need swap (add_to_swap() fails first
        // without it: they stay mapped), lazyfree ones are discarded;
        // page-cache pages are unmapped by try_to_unmap() before writeback is
        // even considered, leaving a uffd-wp marker for a uffd-wp'd PTE
        // (try_to_unmap_one() → pte_install_uffd_wp_if_needed()), while the
        // data stays in (or is reread into) the page cache. Whether reclaim
        // gets to a page-cache page is its choice (reclaim-may-unmap).
        std::vector<uint32_t> pages;
        for (auto it = p.ptes.LowerBound(a); it != p.ptes.end() && it->first < b; ++it)
          pages.push_back(it->first);
        for (uint32_t page : pages) {
          Pte pte = *p.ptes.Find(page);
          if (pte.kind != PteKind::kPresent || pte.page == kZeroPage) continue;
          // A PMD PageOutThp() left mapped (folio_likely_mapped_shared():
          // "goto huge_unlock") leaves the range's pages in it alone too,
          // even a subpage only this process maps (the others COW'd it).
          if (p.thp.Find(MmState::Slot(page))) continue;
          PageObj& pg = st_.pages[pte.page];
          if (pg.anon) {
            if (pg.mapcount != 1) continue;
            if (pg.lazyfree) {
              // Discarded if reclaim gets to it (it may not: a folio still
              // in a per-CPU LRU batch is not isolated, [EMP] rare): a doubt.
              SetDoubt(op.proc, page, std::nullopt, Grant::Of(Allowance::kLazyfreeMayBeDiscarded));
            } else if (pg.not_swapbacked) {
              // try_to_unmap_one(): a lazyfree folio written since ("If the
              // folio was redirtied, it cannot be discarded") is mapped back
              // and folio_set_swapbacked(): not swapped out this time
              // ([EMP] 6.12.118 with swap, 5 runs in 5).
              pg.not_swapbacked = false;
            } else if (profile_.swap) {
              Pte sw = pte;
              sw.kind = PteKind::kSwap;
              st_.SetPte(p, page, sw);
              pg.swap_cache = true;
            }
            continue;
          }
          // The mappings sure to exist besides this one: DoubtfulMaps()
          // leaves out those reclaim may already have removed, this one's
          // too when its doubt is such (a doubt between two present PTEs,
          // the uffd-wp bit, say, is a sure mapping, counted once).
          const Doubt* mine = p.doubts.Find(page);
          bool mine_left_out = mine && (mine->alt_none || mine->alt.kind != PteKind::kPresent);
          uint32_t sure = pg.mapcount - DoubtfulMaps(pte.page) + (mine_left_out ? 1 : 0);
          if (sure > 1) continue;
          // A clean shmem folio is not written out but dropped from the page
          // cache (__remove_mapping()): its data is zeros, so only MISSING and
          // MINOR userfaults can tell (DoAccess() tries both).
          if (v.IsShmem() && !pg.dirty) pg.maybe_dropped = true;
          Variant gone;
          if (pte.uffd_wp && v.UffdWp() && !v.IsAnonymous()) gone = Pte{PteKind::kUffdMarker, false, true, kZeroPage};
          // A page already in doubt (an earlier reclaim may have unmapped it,
          // and uffd_wp then left a marker there): this one makes a third
          // state, which one doubt cannot carry; keeping either would
          // forbid the other ([EMP] 6.18: the marker stayed, under a VMA no
          // longer registered for WP).
          if (const Doubt* d = p.doubts.Find(page); d && (d->alt_none != !gone || (gone && !(d->alt == *gone)))) {
            s.pred->unmodelled = "MADV_PAGEOUT of a page whose state is already in doubt";
            continue;
          }
          SetDoubt(op.proc, page, gone, Grant::Of(Allowance::kReclaimMayUnmap));
        }
        break;
      }
      case Advice::kPopulateRead:
      case Advice::kPopulateWrite:
        break;  // handled above
      case Advice::kHugepage: case Advice::kNohugepage: case Advice::kDontfork: case Advice::kDofork:
      case Advice::kWipeonfork: case Advice::kKeeponfork: {
        // mm/madvise.c madvise_vma_behavior(): MADV_WIPEONFORK only on private anonymous memory.
        if (advice == Advice::kWipeonfork && (v.kind != MemKind::kAnon || v.shared)) return Err(EINVAL);
        // madvise_update_vma(): unchanged flags → no split.
        bool same = false;
        switch (advice) {
          case Advice::kHugepage: same = v.hugepage && !v.nohugepage; break;
          case Advice::kNohugepage: same = v.nohugepage && !v.hugepage; break;
          case Advice::kDontfork: same = v.dontfork; break;
          case Advice::kDofork: same = !v.dontfork; break;
          case Advice::kWipeonfork: same = v.wipeonfork; break;
          case Advice::kKeeponfork: same = !v.wipeonfork; break;
          default: break;
        }
        if (same) break;
        changed_lo = std::min(changed_lo, a);
        changed_hi = std::max(changed_hi, b);
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
        // madvise_guard_install(): zap, then a guard marker in every none PTE,
        // retried (restart_syscall()) while some PTE is not none. In a file
        // VMA the zap keeps uffd-wp markers (stale ones too) and turns
        // uffd-wp'd PTEs of a uffd-wp VMA into markers: the call never
        // returns (quirk guard_install_livelock_on_uffd_wp, [EMP] 6.18).
        bool blocked = false;
        if (!v.IsAnonymous()) {
          for (auto it = p.ptes.LowerBound(a); it != p.ptes.end() && it->first < b; ++it)
            blocked |= it->second.kind == PteKind::kUffdMarker || (v.UffdWp() && it->second.uffd_wp);
          for (auto it = p.doubts.LowerBound(a); it != p.doubts.end() && it->first < b; ++it)
            blocked |= !it->second.alt_none && it->second.alt.uffd_wp;
        }
        if (blocked) s.pred->unmodelled = "guard_install over uffd-wp markers of a file VMA (quirk guard_install_livelock_on_uffd_wp)";
        // Markers must be copied at fork: the VMA gets VM_MAYBE_GUARD, which
        // vma_needs_copy() honours for every VMA kind (VM_COPY_ON_FORK; before
        // it, anon_vma_prepare(); [EMP] 6.18.44 copies a guarded VMA whose
        // anon_vma an mremap DONTUNMAP of the whole VMA had unlinked).
        p.vmas[vi].maybe_guard = true;  // the whole VMA: a hint, no split
        // An anonymous VMA also gets its anon_vma (madvise_guard_install():
        // "If anonymous and we are establishing page tables the VMA ought to
        // have an anon_vma"; before VM_MAYBE_GUARD every VMA did): an mremap
        // copy then keeps its pgoff and does not merge back ([EMP] 6.18.44).
        if (p.vmas[vi].IsAnonymous()) EnsureAnonVma(p, vi);
        ZapRange(op.proc, a, b, Zap::kDontneed);
        p.doubts.EraseRange(a, b);
        for (uint32_t page = a; page < b; page++) {
          const Pte* pte = p.ptes.Find(page);
          if (pte && pte->kind == PteKind::kGuard) continue;
          st_.SetPte(p, page, Pte{PteKind::kGuard, false, false, kZeroPage});
        }
        break;
      }
      case Advice::kGuardRemove: {
        std::vector<uint32_t> guards;
        for (auto it = p.ptes.LowerBound(a); it != p.ptes.end() && it->first < b; ++it)
          if (it->second.kind == PteKind::kGuard) guards.push_back(it->first);
        for (uint32_t page : guards) st_.ClearPte(p, page);
        break;
      }
    }
  }
  // madvise_update_vma(): vma_modify_flags() merges, then the merged VMA
  // gets the changed VMA's flags.
  if (ChangesFlags(advice) && changed_lo < changed_hi) MergeChanged(p, changed_lo, changed_hi);
  return unmapped ? Err(unmapped) : Ok();  // mm/madvise.c madvise_walk_vmas(): unmapped_error
}

bool Model::PageOutThp(Process& p, uint32_t slot, bool whole) {
  uint32_t s0 = slot * kPagesPerPmd, s1 = s0 + kPagesPerPmd;
  // The 512 present PTEs a THP PMD stands for; a state after an op the
  // model did not follow may lack them.
  for (uint32_t page = s0; page < s1; page++) {
    const Pte* pte = p.ptes.Find(page);
    if (!pte || pte->kind != PteKind::kPresent || pte->page == kZeroPage) return false;
  }
  // madvise_cold_or_pageout_pte_range(): "Do not interfere with other
  // mappings of this folio" (folio_likely_mapped_shared(); 6.1:
  // page_mapcount() of the head != 1): a PMD shared since fork, or a folio
  // another process maps in part, is left alone, and so is the rest of the
  // range in this PMD.
  for (auto it = p.ptes.LowerBound(s0); it != p.ptes.end() && it->first < s1; ++it)
    if (st_.pages[it->second.page].mapcount != 1) return true;
  if (whole && profile_.swap) {
    // shrink_folio_list(): add_to_swap() takes a swap cluster for the whole
    // folio (THP_SWAP); try_to_unmap() splits the PMD first
    // (TTU_SPLIT_HUGE_PMD → __split_huge_pmd_locked(), pte_mkdirty() where
    // kBehThpSplitDirtiesPtes), then try_to_unmap_one() makes each PTE a
    // swap entry with its soft-dirty and uffd-wp bits
    // (pte_swp_mksoft_dirty(), pte_swp_mkuffd_wp()). The folio is then
    // freed: a swap-in maps a small folio. [EMP] 6.12.118 and 6.1.192
    // with zram: all 512 swapped.
    st_.SplitHugePmd(p, slot);
    for (auto it = p.ptes.LowerBound(s0); it != p.ptes.end() && it->first < s1; ++it) {
      PageObj& pg = st_.pages[it->second.page];
      pg.mapcount--;  // kSwap PTEs hold a reference, not a mapping
      pg.swap_cache = true;
      pg.folio = 0;
      it->second.kind = PteKind::kSwap;
    }
    return true;
  }
  // The folio is split (split_folio(): by the madvise walk for a part of
  // the PMD, by shrink_folio_list() when add_to_swap() fails, as without
  // swap). unmap_folio() freezes the PMD into migration entries that carry
  // its soft-dirty and uffd-wp bits (__split_huge_pmd_locked(freeze), no
  // pte_mkdirty()); remap_page() maps each subpage back, a small folio
  // now, through remove_migration_pte(): the entry's soft-dirty, plus
  // pte_mkdirty() of the dirty folio on kernels that only add the entry's
  // bit (!kBehMigrationKeepsSoftDirty: x86 sets soft-dirty with dirty), and
  // a zero-filled subpage becomes the shared zero page with the entry's
  // bits (kBehThpSplitMapsZeroPage: try_to_map_unused_to_zeropage()). The
  // pages then stay mapped, or are paged out by the 4K walk of the range
  // (mm/madvise.c: `goto regular_folio`).
  bool to_zero = profile_.Has(kBehThpSplitMapsZeroPage);
  bool mkdirty = profile_.soft_dirty && !profile_.Has(kBehMigrationKeepsSoftDirty);
  p.thp.Erase(slot);
  st_.TouchPt(p, s0);  // the deposited page table
  for (uint32_t page = s0; page < s1; page++) {
    Pte pte = *p.ptes.Find(page);
    PageObj& pg = st_.pages[pte.page];
    pg.folio = 0;
    bool zero_filled = std::all_of(pg.bytes.v.begin(), pg.bytes.v.end(), [](auto& ob) { return ob.second == 0; });
    if (to_zero && zero_filled) {
      pte.page = kZeroPage;
      st_.SetPte(p, page, pte);
    } else if (mkdirty) {
      p.ptes.Find(page)->soft_dirty = true;
    }
  }
  return true;
}

}  // namespace mmdiff
