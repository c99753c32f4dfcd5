// mm/memory.c: loads and stores (the page-fault paths as the model sees them:
// docs/CONTRACT.md §4.2 soft-dirty, §5.4 uffd-wp faults, §5.5 markers, §11.2
// fault-around) and zapping PTEs (zap_pte_range() and its callers).
#include <cerrno>
#include <csignal>

#include "model/model.h"

namespace mmdiff {
namespace {

bool IsSyncWp(const Vma& v, const std::vector<UffdCtx>& uffds) {
  return v.UffdWp() && v.uffd >= 0 && !uffds[v.uffd].Async();
}

}  // namespace

Result Model::FaultResult(Fault fault) {
  Result r;
  r.kind = ResultKind::kFault;
  r.signal = fault == Fault::kSegv ? SIGSEGV : SIGBUS;
  return r;
}

bool Model::ThpPossible(const Vma& v, uint32_t page) const {
  if (v.kind != MemKind::kAnon || v.nohugepage) return false;
  if (profile_.thp == ThpMode::kNever || (profile_.thp == ThpMode::kMadvise && !v.hugepage)) return false;
  uint32_t slot = page / kPagesPerPmd * kPagesPerPmd;
  return v.start <= slot && slot + kPagesPerPmd <= v.end;
}

bool Model::MapsHugePmd(const Process& p, const Vma& v, uint32_t page) const {
  // __handle_mm_fault(): a PMD with no PTE table in a THP-enabled VMA goes to
  // create_huge_pmd() → do_huge_pmd_anonymous_page(), which maps the huge
  // zero page on a read fault (use_zero_page = 1 on both kernels) and
  // allocates a PMD-sized folio on a write fault
  // (__do_huge_pmd_anonymous_page(); it may fall back to 4K pages:
  // thp-may-fall-back). With a PTE table the fault is a 4K one.
  // userfaultfd_missing(): a MISSING registration raises a userfault
  // instead; a WP-only one does not change the fault ([EMP] 6.18.44).
  return ThpPossible(v, page) && st_.PtAt(p, page) == PtState::kAbsent && !(v.uffd_modes & kUffdModeMissing);
}

const char* Model::ThpFaultUnmodelled(const Process& p, const Vma& v, uint32_t page) const {
  if (!ThpPossible(v, page)) return nullptr;
  PtState pt = st_.PtAt(p, page);
  if (pt == PtState::kUnknown) return "fault in a THP-eligible range whose page table may be reclaimed";
  // do_huge_pmd_anonymous_page() raises a MISSING userfault
  // (userfaultfd_missing()), which the handler answers with 4K pages.
  if (pt == PtState::kAbsent && (v.uffd_modes & kUffdModeMissing))
    return "fault in a THP-eligible range registered for MISSING userfaults";
  return nullptr;
}

bool Model::ThpFallsBack() {
  uint32_t k = st_.thp_faults++;
  return k < 32 && ((profile_.thp_fallbacks >> k) & 1);
}

bool Model::TouchesLargeFolio(const Process& p, uint32_t lo, uint32_t hi, PmdsOk ok) const {
  for (auto it = p.ptes.LowerBound(lo); it != p.ptes.end() && it->first < hi; ++it) {
    const Pte& pte = it->second;
    if (pte.kind != PteKind::kPresent || pte.page == kZeroPage || !st_.pages[pte.page].folio) continue;
    uint32_t s0 = MmState::Slot(it->first) * kPagesPerPmd;
    if (ok != PmdsOk::kNone && p.thp.Find(MmState::Slot(it->first)) &&
        (ok == PmdsOk::kAny || (lo <= s0 && s0 + kPagesPerPmd <= hi)))
      continue;
    return true;
  }
  return false;
}

void Model::MapNewThp(Process& p, uint32_t s0) {
  // One PMD maps a new zeroed folio, maybe_pmd_mkwrite(pmd_mkdirty()):
  // dirty, and soft-dirty on x86, for all 512 subpages.
  uint32_t folio = st_.next_folio++;
  for (uint32_t pg = s0; pg < s0 + kPagesPerPmd; pg++) {
    uint32_t id = st_.NewPage(/*anon=*/true);
    st_.pages[id].folio = folio;
    st_.SetPte(p, pg, Pte{PteKind::kPresent, profile_.soft_dirty, false, id});
  }
  p.thp[MmState::Slot(s0)] = true;
}

bool Model::WriteThpPmd(Process& p, const Vma& v, uint32_t page) {
  uint32_t slot = MmState::Slot(page), s0 = slot * kPagesPerPmd;
  const Pte* cur = p.ptes.Find(page);
  // wp_huge_pmd(): a uffd-wp'd PMD of a uffd-wp VMA raises the WP userfault
  // (sync: the handler's UFFDIO_WRITEPROTECT of the page splits the PMD) or,
  // async, splits it at once; the PTE-level fault then resolves the page.
  bool wp = v.UffdWp() && cur->uffd_wp;
  // do_huge_pmd_wp_page(): PageAnonExclusive or the only reference → reuse
  // the whole PMD, pmd_mkdirty() (soft-dirty on x86); else split and let the
  // PTE-level fault copy the 4K page.
  bool exclusive = true;
  for (auto it = p.ptes.LowerBound(s0); exclusive && it != p.ptes.end() && it->first < s0 + kPagesPerPmd; ++it)
    exclusive = st_.pages[it->second.page].refs == 1;
  if (wp || !exclusive) {
    st_.SplitHugePmd(p, slot);
    return false;
  }
  for (auto it = p.ptes.LowerBound(s0); it != p.ptes.end() && it->first < s0 + kPagesPerPmd; ++it) {
    if (profile_.soft_dirty) it->second.soft_dirty = true;
    st_.pages[it->second.page].lazyfree = false;
  }
  *p.thp.Find(slot) = true;
  return true;
}

bool Model::TouchesHugeZero(const Process& p, uint32_t lo, uint32_t hi) const {
  if (lo >= hi || p.huge_zero.empty()) return false;
  auto it = p.huge_zero.LowerBound(MmState::Slot(lo));
  return it != p.huge_zero.end() && it->first <= MmState::Slot(hi - 1);
}

void Model::FaultAround(int proc, uint32_t page) {
  // should_fault_around(): a ->map_pages VMA (file, shmem), not uffd-wp or
  // minor registered (uffd_disable_fault_around()), fault_around_pages > 1.
  uint32_t n = profile_.fault_around_pages;
  if (n <= 1) return;
  Process& p = st_.procs[proc];
  int vi = st_.VmaAt(p, page);
  if (vi < 0) return;
  const Vma v = p.vmas[vi];
  if (v.IsAnonymous() || (v.uffd_modes & (kUffdModeWp | kUffdModeMinor))) return;
  // do_fault_around(): from the faulting page aligned down to n pages (the
  // arena is 2 MiB aligned, so arena pages align like addresses), clamped to
  // the VMA; n pages from there, clamped to the VMA and the PTE table.
  uint32_t slot_start = MmState::Slot(page) * kPagesPerPmd;
  uint32_t from = std::max(page / n * n, v.start);
  uint32_t to = std::min({from + n, slot_start + kPagesPerPmd, v.end});
  if (MayHaveLargeFolios(v)) {
    // Current kernels' filemap_map_pages() maps the whole large folio the
    // fault-around window touches, inside the VMA and the PTE table ([EMP]
    // 6.18.44 on ext4: a read of page 38 of a 39-page file mapped page 0).
    from = std::max(slot_start, v.start);
    to = std::min(slot_start + kPagesPerPmd, v.end);
  }
  // filemap_map_pages(): mapped read-only and clean.
  MayMapFromCache(proc, v, from, to, page, /*soft_dirty=*/false);
}

bool Model::MayHaveLargeFolios(const Vma& v) const {
  // MADV_HUGEPAGE makes readahead allocate PMD-order folios where the
  // filesystem takes large folios (mm/filemap.c do_sync_mmap_readahead(),
  // VM_HUGEPAGE); a filesystem that declares large folios gets them from
  // any readahead (mm/readahead.c page_cache_ra_order(); ext4 since 6.16:
  // the behaviour file_folios_may_be_large, [EMP] 6.18.44 a write after
  // reclaim and a hole punch mapped its neighbour). Which folios the page
  // cache holds the model cannot know.
  if (v.kind != MemKind::kFile) return false;
  return profile_.Has(kBehFileFoliosMayBeLarge) || (v.hugepage && profile_.thp != ThpMode::kNever);
}

void Model::MayMapFromCache(int proc, const Vma& v, uint32_t from, uint32_t to, uint32_t page, bool soft_dirty) {
  Process& p = st_.procs[proc];
  for (uint32_t pg = from; pg < to; pg++) {
    if (pg == page) continue;
    // Only none PTEs (not markers), only uptodate page-cache pages below
    // EOF. The kernel may skip any of them (a locked folio, ...): a doubt,
    // primary mapped. A regular file's page need not be in the model's
    // cache: filemap_fault() of an uncached page starts readahead
    // (do_sync_mmap_readahead()), drops the mmap lock for the I/O and
    // retries the fault, which then maps what readahead brought in
    // (FileObj::readahead; shmem does no readahead).
    if (p.ptes.Find(pg) || p.doubts.Find(pg)) continue;
    uint32_t fp = v.FilePage(pg);
    if (fp >= st_.files[v.obj].size || !st_.files[v.obj].MayBeCached(fp)) continue;
    const uint32_t* cached = st_.files[v.obj].cache.Find(fp);
    uint32_t id = cached ? *cached : st_.CachePage(v.obj, fp);
    st_.SetPte(p, pg, Pte{PteKind::kPresent, soft_dirty, false, id});
    SetDoubt(proc, pg, std::nullopt, Grant::Of(Allowance::kFaultAroundMayMap));
  }
}

void Model::FolioMapsNeighbours(int proc, uint32_t page, bool write) {
  // finish_fault() of current kernels maps the whole large folio of a file
  // fault, not only the faulting page, unless a uffd is armed on the VMA
  // (mm/memory.c finish_fault(), "map large folios in one shot"; [EMP]
  // 6.18.44 on ext4 with MADV_HUGEPAGE: a write of page 8 mapped page 9 too).
  // A write makes every PTE of it writable and dirty (set_pte_range():
  // maybe_mkwrite(pte_mkdirty()), so soft-dirty): each page of the VMA in
  // this PTE table may be mapped.
  Process& p = st_.procs[proc];
  int vi = st_.VmaAt(p, page);
  if (vi < 0) return;
  const Vma v = p.vmas[vi];
  if (!MayHaveLargeFolios(v) || v.uffd_modes) return;
  uint32_t slot_start = MmState::Slot(page) * kPagesPerPmd;
  MayMapFromCache(proc, v, std::max(slot_start, v.start), std::min(slot_start + kPagesPerPmd, v.end), page,
                  write && profile_.soft_dirty);
}

Model::Fault Model::FaultIn(int proc, uint32_t page, bool write, uint8_t* uffd_faults) {
  Process& p = st_.procs[proc];
  const Doubt* d = p.doubts.Find(page);
  if (!d) return FaultInCertain(proc, page, write, uffd_faults);
  // A doubtful PTE: fault on both sides and keep both outcomes.
  Grant why = d->why;
  Model alt = *this;
  alt.ResolveDoubt(proc, page, /*to_alt=*/true);
  uint8_t alt_faults = 0;
  alt.FaultInCertain(proc, page, write, &alt_faults);
  ResolveDoubt(proc, page, /*to_alt=*/false);
  Fault f = FaultInCertain(proc, page, write, uffd_faults);
  MergeWorld(alt, why);  // if the sides differ beyond PTEs, the primary stays
  return f;
}

// One user access at `page`, as the CPU would fault it in: resolves
// userfaults the way the executor's handler does and leaves the PTE in its
// final state (for a write: present, writable, dirty, soft-dirty, no uffd-wp).
Model::Fault Model::FaultInCertain(int proc, uint32_t page, bool write, uint8_t* uffd_faults) {
  Process& p = st_.procs[proc];
  int vi = st_.VmaAt(p, page);
  if (vi < 0) return Fault::kSegv;
  if (p.vmas[vi].kind == MemKind::kHugetlb) return HugetlbFault(proc, page, write, uffd_faults);  // model/hugetlb.cc
  // Copy the VMA's facts we need: EnsureAnonVma may edit the vector.
  const Vma v = p.vmas[vi];
  if (!v.Readable() || (write && !v.Writable())) return Fault::kSegv;
  const Pte* cur = p.ptes.Find(page);
  if (cur && cur->kind == PteKind::kGuard) return Fault::kSegv;  // guard region: SIGSEGV
  bool none_like = !cur || cur->kind == PteKind::kUffdMarker;
  if (v.kind != MemKind::kAnon && none_like && v.FilePage(page) >= st_.files[v.obj].size) {
    // beyond EOF: shmem_fault()/filemap_fault() → SIGBUS, after do_read_fault()
    // tried fault-around, or do_cow_fault() prepared the anon_vma of a
    // private VMA (vmf_anon_prepare() comes first: fork then copies it).
    if (cur && cur->kind == PteKind::kUffdMarker && !v.UffdWp()) {
      st_.ClearPte(p, page);  // pte_marker_handle_uffd_wp(): a stale marker goes first
      cur = nullptr;
    }
    if (!write && !cur) {
      // filemap_map_pages() installs the PTE table only once it maps a page
      // (filemap_map_pmd()), and the SIGBUS maps none: if fault-around may
      // have mapped nothing, the table may not exist, also when an earlier
      // such fault left it unknown (a host campaign: two SIGBUS reads, the
      // page fault-around might have mapped seen none in between).
      PtState before = st_.PtAt(p, page);
      FaultAround(proc, page);
      if (before != PtState::kPresent && st_.PtAt(p, page) == PtState::kPresent)
        p.pt[MmState::Slot(page)] = PtState::kUnknown;
    }
    if (write && !v.shared) EnsureAnonVma(p, vi);  // none or marker: do_cow_fault()
    return Fault::kBus;
  }

  // A marker in a VMA that is no longer uffd-wp is cleared and the fault
  // retried as on a none PTE (pte_marker_handle_uffd_wp(), [61] mm/memory.c:3732).
  if (cur && cur->kind == PteKind::kUffdMarker && !v.UffdWp()) {
    st_.ClearPte(p, page);
    cur = nullptr;
  }
  bool sync_wp = IsSyncWp(v, st_.uffds);
  bool cached = !v.IsAnonymous() && st_.files[v.obj].cache.Find(v.FilePage(page));
  if (v.kind == MemKind::kFile && !cached && (!cur || cur->kind == PteKind::kUffdMarker)) {
    // filemap_fault() → do_sync_mmap_readahead(): mmap read-around of
    // ra_pages (32 with 128 KiB read_ahead_kb) around the page, and from its
    // PG_readahead mark async readahead of further windows, which later
    // faults and fault-arounds may trigger: any page of the file may be in the
    // cache from now on (the model does not follow readahead windows). A
    // live uffd-wp marker faults the same way (pte_marker_handle_uffd_wp()
    // → do_pte_missing()).
    st_.files[v.obj].readahead.assign(1, {0, UINT32_MAX});
  }
  bool missing = (v.uffd_modes & kUffdModeMissing) && (v.IsAnonymous() || (v.IsShmem() && !cached));
  bool minor = (v.uffd_modes & kUffdModeMinor) && v.IsShmem() && cached;

  if (!write && !cur && MapsHugePmd(p, v, page)) {
    // do_huge_pmd_anonymous_page(): vmf_anon_prepare() first (the VMA gets
    // an anon_vma, so fork copies its page tables), then
    // set_huge_zero_folio(): one PMD maps the whole 2 MiB slot.
    EnsureAnonVma(p, vi);
    uint32_t s0 = MmState::Slot(page) * kPagesPerPmd;
    for (uint32_t pg = s0; pg < s0 + kPagesPerPmd; pg++)
      st_.SetPte(p, pg, Pte{PteKind::kPresent, false, false, kZeroPage});
    p.huge_zero[MmState::Slot(page)] = true;
    return Fault::kNone;
  }
  if (write && !cur && MapsHugePmd(p, v, page) && !ThpFallsBack()) {
    // __do_huge_pmd_anonymous_page(): vmf_anon_prepare(), then the PMD.
    EnsureAnonVma(p, vi);
    uint32_t s0 = MmState::Slot(page) * kPagesPerPmd;
    MapNewThp(p, s0);
    return Fault::kNone;
  }
  if (write && cur && p.huge_zero.Find(MmState::Slot(page))) {
    uint32_t s0 = MmState::Slot(page) * kPagesPerPmd;
    if (profile_.Has(kBehHugeZeroWriteMapsThp) && !(v.UffdWp() && cur->uffd_wp) && !ThpFallsBack()) {
      // do_huge_pmd_wp_page() → do_huge_zero_wp_pmd(): a new THP replaces the
      // huge zero PMD, pmd_mkdirty() (soft-dirty); failing to allocate, it
      // falls back to the split below (thp-may-fall-back).
      p.huge_zero.Erase(MmState::Slot(page));
      MapNewThp(p, s0);
      return Fault::kNone;
    }
    // Older kernels' do_huge_pmd_wp_page(): the huge zero PMD falls back to
    // a split; the PTE-level fault then copies the 4K zero page (wp_page_copy()).
    st_.SplitHugePmd(p, MmState::Slot(page));
  }
  if (write && cur && p.thp.Find(MmState::Slot(page)) && WriteThpPmd(p, v, page)) return Fault::kNone;

  if (cur && cur->kind == PteKind::kUffdMarker && missing) {
    // A live marker in a MISSING-registered VMA: pte_marker_handle_uffd_wp()
    // → do_pte_missing() → do_anonymous_page() / shmem_fault() raise a
    // MISSING userfault. The handler's UFFDIO_ZEROPAGE installs over a marker
    // only through mfill_atomic_install_pte() (pte_none_mostly(): shared
    // shmem); for private VMAs mfill_atomic_pte_zeropage() wants pte_none()
    // → EEXIST, and the handler's UFFDIO_COPY of a zero page installs a new
    // anonymous page (mm/userfaultfd.c). Either way: dirty, writable, no
    // uffd-wp bit.
    *uffd_faults |= kFaultMissing;
    Pte np{PteKind::kPresent, profile_.soft_dirty, false, kZeroPage};
    if (v.shared) {
      np.page = st_.CachePage(v.obj, v.FilePage(page));
      st_.pages[np.page].dirty = true;
    } else {
      np.page = st_.NewPage(/*anon=*/true);
      EnsureAnonVma(p, st_.VmaAt(p, page));
    }
    st_.SetPte(p, page, np);
    cur = p.ptes.Find(page);
  } else if (cur && cur->kind == PteKind::kUffdMarker && minor) {
    // Likewise shmem_fault() raises a MINOR userfault for a cached page;
    // UFFDIO_CONTINUE installs over the marker (mfill_atomic_install_pte(),
    // pte_none_mostly()) without the uffd-wp bit.
    *uffd_faults |= kFaultMinor;
    if (!v.shared) EnsureAnonVma(p, vi);  // mfill_atomic(): anon_vma_prepare() for private VMAs
    // mfill_atomic_install_pte(): pte_mkdirty() → soft-dirty.
    st_.SetPte(p, page,
               Pte{PteKind::kPresent, profile_.soft_dirty, false, st_.CachePage(v.obj, v.FilePage(page))});
    cur = p.ptes.Find(page);
  }

  if (!cur) {
    if (!write) FaultAround(proc, page);  // do_read_fault(): fault-around first
    if (missing) {
      // MISSING userfault; the handler answers UFFDIO_ZEROPAGE: the zero page
      // for private VMAs (mfill_atomic_pte_zeropage(), also private shmem), a
      // zeroed page-cache page for shared shmem (shmem_mfill_atomic_pte()).
      *uffd_faults |= kFaultMissing;
      if (!v.shared) {
        // mfill_atomic() prepares the anon_vma of a private VMA whatever it
        // installs, the zero page included (fork then copies the VMA).
        EnsureAnonVma(p, vi);
        st_.SetPte(p, page, Pte{PteKind::kPresent, false, false, kZeroPage});
      } else {
        // shmem_mfill_atomic_pte() → mfill_atomic_install_pte(): pte_mkdirty().
        st_.SetPte(p, page, Pte{PteKind::kPresent, profile_.soft_dirty, false,
                                st_.CachePage(v.obj, v.FilePage(page))});
      }
    } else if (minor) {
      // MINOR userfault; UFFDIO_CONTINUE maps the page-cache page
      // (mfill_atomic_install_pte(): pte_mkdirty() → soft-dirty).
      *uffd_faults |= kFaultMinor;
      if (!v.shared) EnsureAnonVma(p, vi);
      st_.SetPte(p, page, Pte{PteKind::kPresent, profile_.soft_dirty, false,
                              st_.CachePage(v.obj, v.FilePage(page))});
    }
    cur = p.ptes.Find(page);
  }

  if (!write) {
    if (cur && cur->kind == PteKind::kSwap) {
      Pte in = *cur;  // do_swap_page(): SD and uffd-wp carried into the PTE
      in.kind = PteKind::kPresent;
      st_.SetPte(p, page, in);
      return Fault::kNone;
    }
    if (cur && cur->kind == PteKind::kPresent) return Fault::kNone;
    // none or marker (in a uffd-wp VMA): a read maps the zero page (anon) or
    // the page-cache page, keeping uffd-wp of a marker (§5.4).
    bool wp = cur && cur->kind == PteKind::kUffdMarker;
    uint32_t pg = v.IsAnonymous() ? kZeroPage : st_.CachePage(v.obj, v.FilePage(page));
    st_.SetPte(p, page, Pte{PteKind::kPresent, false, wp, pg});
    return Fault::kNone;
  }

  // Write. First the uffd-wp fault: sync mode reports it and the handler
  // unprotects exactly this page; async mode resolves it in the kernel.
  bool async_wp_fault = cur && v.UffdWp() && cur->uffd_wp && !sync_wp;
  if (cur && v.UffdWp() && cur->uffd_wp) {
    if (sync_wp) *uffd_faults |= kFaultWp;
    if (cur->kind == PteKind::kUffdMarker) {
      st_.ClearPte(p, page);
      cur = nullptr;
    } else {
      p.ptes.Find(page)->uffd_wp = false;
    }
  }
  Pte next;
  next.kind = PteKind::kPresent;
  next.soft_dirty = profile_.soft_dirty;  // pte_mkdirty() sets _PAGE_SOFT_DIRTY (§4.2)
  if (cur && (cur->kind == PteKind::kPresent || cur->kind == PteKind::kSwap)) {
    uint32_t old = cur->page;
    if (old == kZeroPage) {
      next.page = st_.NewPage(/*anon=*/true);  // wp_page_copy() from the zero page
    } else if (!st_.pages[old].anon) {
      if (v.shared) {
        next.page = old;  // wp_page_shared(): write in place
      } else {
        next.page = st_.CopyPage(old);  // private file mapping: COW
      }
    } else if (st_.pages[old].refs == 1) {
      next.page = old;  // wp_page_reuse(): exclusively ours (may copy: reuse-may-copy)
    } else if (profile_.mutant == Mutant::kCowWriteSharesPage) {
      next.page = old;
    } else {
      next.page = st_.CopyPage(old);  // COW after fork
    }
  } else if (v.IsAnonymous()) {
    next.page = st_.NewPage(/*anon=*/true);  // do_anonymous_page()
  } else {
    uint32_t cache = st_.CachePage(v.obj, v.FilePage(page));
    next.page = v.shared ? cache : st_.CopyPage(cache);  // do_shared_fault()/do_cow_fault()
    if (v.shared) FolioMapsNeighbours(proc, page, /*write=*/true);
  }
  // wp_page_reuse() keeps the PTE's other bits: a stale uffd-wp bit (the
  // VMA re-registered without WP, userfaultfd_pte_wp() ignores it) stays and
  // pagemap still shows it; a new page (COW, fault on none) starts clean.
  // A swap entry's uffd-wp bit goes into the PTE do_swap_page() maps
  // (pte_swp_uffd_wp() → pte_mkuffd_wp()), which userfaultfd_pte_wp() then
  // ignores the same way (6.12 maps it writable at once; 6.1 write-protects
  // it and the retried write reuses it): the bit stays on the written page.
  bool reused = cur && (cur->kind == PteKind::kPresent || cur->kind == PteKind::kSwap) && next.page == cur->page;
  bool stale_wp = reused && !v.UffdWp() && cur->uffd_wp && st_.pages[next.page].anon;
  if (reused && !v.UffdWp()) {
    next.uffd_wp = cur->uffd_wp;
    next.stale_wp_writable = cur->uffd_wp;
  }
  if (async_wp_fault && profile_.mutant == Mutant::kAsyncWriteKeepsWp) next.uffd_wp = true;
  // Quirk softdirty_lost_on_uffd_wp_resolve: a PTE 6.1's uffd_wp_range()
  // mapped writable takes the write without a fault, soft-dirty unchanged.
  std::optional<Pte> silent;
  if (cur && cur->kind == PteKind::kPresent && cur->sd_silent && !cur->soft_dirty &&
      next.page == cur->page && profile_.quirks.Has(Quirk::kSoftdirtyLostOnUffdWpResolve))
    silent = *cur;
  if (st_.pages[next.page].anon) EnsureAnonVma(p, st_.VmaAt(p, page));
  st_.SetPte(p, page, next);
  if (silent) {
    SetDoubt(proc, page, silent, Grant::Of(Quirk::kSoftdirtyLostOnUffdWpResolve));
  } else if (stale_wp) {
    // The kernel may have copied instead (reuse-may-copy): same data, no bit.
    Pte copied = next;
    copied.uffd_wp = false;
    SetDoubt(proc, page, copied, Grant::Of(Allowance::kReuseMayCopy));
  }
  PageObj& pg = st_.pages[next.page];
  pg.lazyfree = false;
  if (!pg.anon) {
    pg.dirty = true;
    pg.maybe_dropped = false;  // a dirty page stays (no swap to write it to)
  }
  return Fault::kNone;
}

Result Model::AccessNow(const Op& op, size_t index, bool write) {
  Result r;
  uint8_t faults = 0;
  if (Fault fault = FaultIn(op.proc, op.page, write, &faults); fault != Fault::kNone) return FaultResult(fault);
  r.uffd_faults = faults;
  const Pte* pte = st_.procs[op.proc].ptes.Find(op.page);
  if (write) {
    st_.pages[pte->page].bytes.Set(op.offset, WriteToken(op, index));
    r.kind = ResultKind::kOk;
  } else {
    r.kind = ResultKind::kValue;
    r.value = pte->page == kZeroPage ? 0 : st_.pages[pte->page].bytes.Get(op.offset);
  }
  return r;
}

Result Model::DoAccess(Step& s, bool write) {
  const Op& op = s.op;
  Process& p = st_.procs[op.proc];
  uint32_t page = op.page;
  // Worlds the model cannot tell apart at this page: a doubtful PTE (state.h
  // Doubt), and a clean shmem page reclaim may have dropped from the page
  // cache (PageObj::maybe_dropped), which only a MISSING/MINOR userfault can
  // tell. The access runs in each; the kernel's answer picks the world.
  struct World {
    Model m;
    Grants grants;
  };
  auto may_be_dropped = [&](const Model& w) {
    const Process& wp = w.st_.procs[op.proc];
    int vi = w.st_.VmaAt(wp, page);
    if (vi < 0) return false;
    const Vma& v = wp.vmas[vi];
    if (!v.IsShmem() || !(v.uffd_modes & (kUffdModeMissing | kUffdModeMinor))) return false;
    const Pte* pte = wp.ptes.Find(page);
    if (pte && pte->kind != PteKind::kUffdMarker) return false;
    const uint32_t* c = w.st_.files[v.obj].cache.Find(v.FilePage(page));
    return c && w.st_.pages[*c].maybe_dropped;
  };
  const Doubt* d = p.doubts.Find(page);
  if (d || may_be_dropped(*this)) {
    std::vector<World> worlds;
    worlds.push_back({*this, {}});
    if (d) {
      Grants g;
      g.Add(d->why);
      worlds.push_back({*this, g});
      worlds[0].m.ResolveDoubt(op.proc, page, /*to_alt=*/false);
      worlds[1].m.ResolveDoubt(op.proc, page, /*to_alt=*/true);
    }
    for (size_t k = 0, n = worlds.size(); k < n; k++) {
      if (!may_be_dropped(worlds[k].m)) continue;
      World dropped = worlds[k];
      const Process& wp = dropped.m.st_.procs[op.proc];
      const Vma& v = wp.vmas[dropped.m.st_.VmaAt(wp, page)];
      dropped.m.st_.DropCache(v.obj, v.FilePage(page), v.FilePage(page) + 1);
      dropped.grants.Add(Grant::Of(Allowance::kReclaimMayUnmap));
      worlds.push_back(std::move(dropped));
    }
    std::vector<Result> results;
    for (World& w : worlds) results.push_back(w.m.AccessNow(op, s.index, write));
    // As on the path below: a userfault in any world whose reader has exited
    // waits forever (handle_userfault()). The worlds share their VMAs and
    // contexts, so this state answers for all of them.
    for (const Result& r : results)
      if (r.uffd_faults && NobodyReads(op.proc, page, page + 1, 0)) s.pred->unmodelled = "a userfault nobody answers";
    for (size_t k = 1; k < worlds.size(); k++) {
      bool dup = results[k] == results[0];
      for (const Alternative& a : s.pred->alternatives) dup |= a.result == results[k];
      if (!dup) s.pred->alternatives.push_back({results[k], worlds[k].grants});
    }
    // The worlds the kernel's answer allows, the contract's first.
    std::vector<size_t> match;
    const Result* obs = worlds.size() > 1 ? s.Observed() : nullptr;  // one world: no choice
    for (size_t k = 0; k < worlds.size(); k++)
      if (!obs || ResultMatches(results[k], *obs)) match.push_back(k);
    if (match.empty()) match.push_back(0);
    Model chosen = worlds[match[0]].m;
    bool merged_all = true;
    for (size_t k = 1; k < match.size(); k++) {
      Grant why = worlds[match[k]].grants.Has(Grant::Of(Allowance::kReclaimMayUnmap))
                      ? Grant::Of(Allowance::kReclaimMayUnmap)
                      : (d ? d->why : Grant::Of(Allowance::kReclaimMayUnmap));
      Model trial = chosen;
      if (trial.MergeWorld(worlds[match[k]].m, why)) chosen = std::move(trial);
      else merged_all = false;
    }
    // Worlds that differ only by a dropped cache page are left to the first
    // (the page is mapped there); other differences are not modelled.
    if (!merged_all && worlds.size() == 2 && d) s.pred->unmodelled = "access to a page the model cannot pin down";
    st_ = std::move(chosen.st_);
    return results[0];
  }

  Result r;
  // Predict without writing: the same decisions as FaultIn, read-only.
  uint8_t faults = 0;
  Fault fault = Fault::kNone;
  uint8_t value = 0;
  int vi = st_.VmaAt(p, page);
  const Pte* cur = p.ptes.Find(page);
  if (vi < 0) {
    fault = Fault::kSegv;
  } else {
    const Vma& v = p.vmas[vi];
    bool none_like = !cur || cur->kind == PteKind::kUffdMarker;
    bool stale_marker = cur && cur->kind == PteKind::kUffdMarker && !v.UffdWp();
    bool live_marker = cur && cur->kind == PteKind::kUffdMarker && v.UffdWp();
    if (!v.Readable() || (write && !v.Writable()) || (cur && cur->kind == PteKind::kGuard)) {
      fault = Fault::kSegv;
    } else if (v.kind != MemKind::kAnon && none_like && v.FilePage(page) >= st_.files[v.obj].size) {
      fault = Fault::kBus;
    } else {
      // A PMD without PTE table: a write allocates a THP; a read maps the
      // huge zero page (not with uffd, nor when PT_RECLAIM leaves the table unknown).
      if (const char* why = ThpFaultUnmodelled(p, v, page)) s.pred->unmodelled = why;
      const uint32_t* cached = v.IsAnonymous() ? nullptr : st_.files[v.obj].cache.Find(v.FilePage(page));
      bool missing = (v.uffd_modes & kUffdModeMissing) && (v.IsAnonymous() || (v.IsShmem() && !cached));
      bool minor = (v.uffd_modes & kUffdModeMinor) && v.IsShmem() && cached;
      if (!cur || stale_marker || live_marker) {
        // See FaultInCertain(): a live marker is replaced by the resolution
        // of a MISSING/MINOR fault, and then there is no WP fault.
        if (missing)
          faults |= kFaultMissing;
        else if (minor)
          faults |= kFaultMinor;
      }
      if (write && cur && !stale_marker && v.UffdWp() && cur->uffd_wp && IsSyncWp(v, st_.uffds) &&
          !(live_marker && (missing || minor)))
        faults |= kFaultWp;
      if (!write) {
        if (cur && (cur->kind == PteKind::kPresent || cur->kind == PteKind::kSwap)) {
          value = cur->page == kZeroPage ? 0 : st_.pages[cur->page].bytes.Get(op.offset);
        } else if (cached && !(faults & kFaultMissing)) {
          value = st_.pages[*cached].bytes.Get(op.offset);
        }
      }
    }
  }
  if (faults && NobodyReads(op.proc, page, page + 1, 0)) s.pred->unmodelled = "a userfault nobody answers";
  if (fault == Fault::kNone) {
    uint8_t applied = 0;
    FaultIn(op.proc, page, write, &applied);
    if (write) {
      const Pte* pte = p.ptes.Find(page);
      st_.pages[pte->page].bytes.Set(op.offset, WriteToken(op, s.index));
    }
  } else if (fault == Fault::kBus) {
    uint8_t applied = 0;
    FaultIn(op.proc, page, write, &applied);  // fault-around or anon_vma before the SIGBUS
  }
  if (fault != Fault::kNone) return FaultResult(fault);
  r.uffd_faults = faults;
  if (write) {
    r.kind = ResultKind::kOk;
  } else {
    r.kind = ResultKind::kValue;
    r.value = value;
  }
  return r;
}

// --- zap ------------------------------------------------------------------

// mm/memory.c zap_pte_range() on one entry.
Model::Variant Model::ZapOne(const Vma* v, const Variant& pte, Zap how) {
  // mm/memory.c unmap_vmas(): ZAP_FLAG_DROP_MARKER.
  if (!pte || how == Zap::kUnmap) return std::nullopt;
  switch (pte->kind) {
    case PteKind::kGuard:
      return pte;  // guard markers survive zapping (docs/CONTRACT.md §5.5)
    case PteKind::kUffdMarker:
      // mm/memory.c zap_pte_range() (6.1, 6.12): anonymous VMAs drop markers
      // on zap; file/shmem VMAs keep them (zap_drop_file_uffd_wp()).
      if (!v || v->IsAnonymous()) return std::nullopt;
      return pte;
    case PteKind::kPresent:
    case PteKind::kSwap:
      // zap_install_uffd_wp_if_needed() / pte_install_uffd_wp_if_needed():
      // a uffd-wp'd PTE of a non-anonymous uffd-wp VMA leaves a marker
      // ([61] mm/memory.c:1374-1397, include/linux/mm_inline.h:557-584).
      // A hugetlb entry leaves one whatever the VMA's registration
      // (mm/hugetlb.c __unmap_hugepage_range(): huge_pte_uffd_wp() alone).
      if (v && !v->IsAnonymous() && (v->UffdWp() || v->kind == MemKind::kHugetlb) && pte->uffd_wp)
        return Pte{PteKind::kUffdMarker, false, true, kZeroPage};
      return std::nullopt;
  }
  return std::nullopt;
}

// mm/memory.c unmap_vmas() / zap_page_range_single() → zap_pmd_range() →
// zap_pte_range() over [lo, hi).
void Model::ZapRange(int proc, uint32_t lo, uint32_t hi, Zap how) {
  Process& p = st_.procs[proc];
  st_.SplitHugePmdsPartly(p, lo, hi);  // zap_pmd_range(): __split_huge_pmd() of a partly covered PMD
  auto doubts = TakeDoubts(proc, lo, hi);
  // Collect first: ClearPte/SetPte edit the table we walk.
  std::vector<uint32_t> pages;
  for (auto it = p.ptes.LowerBound(lo); it != p.ptes.end() && it->first < hi; ++it)
    pages.push_back(it->first);
  for (uint32_t page : pages) {
    int vi = st_.VmaAt(p, page);
    const Vma* v = vi >= 0 ? &p.vmas[vi] : nullptr;
    Variant after = ZapOne(v, *p.ptes.Find(page), how);
    if (after && *after == *p.ptes.Find(page)) continue;
    st_.ClearPte(p, page);
    if (after) st_.SetPte(p, page, *after);
  }
  for (auto& [page, d] : doubts) {
    int vi = st_.VmaAt(p, page);
    const Vma* v = vi >= 0 ? &p.vmas[vi] : nullptr;
    SetDoubt(proc, page, ZapOne(v, d.alt_none ? Variant{} : Variant{d.alt}, how), d.why);
  }
  // A huge PMD covered whole is zapped whole (mm/huge_memory.c
  // zap_huge_pmd(): the PMD is cleared, no PTE table is left); one covered in
  // part was split before (mm/memory.c zap_pmd_range()).
  if (lo < hi)
    for (uint32_t slot = MmState::Slot(lo); slot <= MmState::Slot(hi - 1); slot++) {
      if (!p.huge_zero.Find(slot) && !p.thp.Find(slot)) continue;
      p.huge_zero.Erase(slot);
      p.thp.Erase(slot);
      p.pt.Erase(slot);
    }
}

}  // namespace mmdiff
