// hugetlb: MAP_HUGETLB mappings of the 2 MiB huge-page pool — mm/hugetlb.c,
// fs/hugetlbfs/inode.c and the hugetlb branches of mm/madvise.c,
// mm/userfaultfd.c, fs/proc/task_mmu.c (docs/CONTRACT.md §3.4, §6.2).
// Kernel sources: Debian 6.1.192 and 6.12.118; where a function is named
// without a release, both have the rule.
//
// A huge page is one PageObj (`huge`) whose bytes span 2 MiB. Its huge PTE is
// held as 512 equal 4K Ptes, one per subpage (so pictures, zaps and the
// invariants see every page; mapcount counts 512 per mapping), and every rule
// here changes all 512 together. A kHugetlb VMA starts and ends on a 2 MiB
// boundary, never merges (hugetlbfs_file_mmap() sets VM_DONTEXPAND, which is
// in VM_SPECIAL) and splits only on a boundary.
//
// The pool: MmState::huge_free / huge_rsvd start from the probe's
// HugePages_Free with nothing reserved (each program runs in fresh
// processes). Reservations (hugetlb_reserve_pages()) are kept per huge page:
// a private mapping's in its owner (HPAGE_RESV_OWNER, never a forked child),
// a shared mapping's in its file.
#include <algorithm>
#include <cerrno>
#include <csignal>

#include "model/model.h"
#include "model/result_make.h"

namespace mmdiff {
namespace {

constexpr uint32_t kHuge = kPagesPerPmd;          // 4K pages per huge page
constexpr uint32_t kPagesPerPud = 512 * kHuge;    // 1 GiB: one PMD table

uint32_t HStart(uint32_t page) { return page / kHuge * kHuge; }
uint64_t PrivKey(int proc, uint32_t slot) { return (uint64_t{static_cast<uint32_t>(proc)} << 24) | slot; }
uint64_t FileKey(int32_t obj, uint32_t fslot) {
  return (uint64_t{1} << 56) | (uint64_t{static_cast<uint32_t>(obj)} << 24) | fslot;
}
bool IsFileKey(uint64_t k) { return k >> 56; }

}  // namespace

bool Model::TouchesHugetlb(const Process& p, uint32_t lo, uint32_t hi) const {
  for (size_t i = st_.FirstVmaEnding(p, lo); i < p.vmas.size() && p.vmas[i].start < hi; i++)
    if (p.vmas[i].kind == MemKind::kHugetlb) return true;
  return false;
}

bool Model::HugetlbSplitRefused(const Process& p, uint32_t addr) const {
  // mm/hugetlb.c hugetlb_vm_op_split(): __split_vma() inside a hugetlb VMA
  // off a huge page boundary → EINVAL.
  int vi = st_.VmaAt(p, addr);
  return vi >= 0 && p.vmas[vi].kind == MemKind::kHugetlb && p.vmas[vi].start != addr && addr % kHuge;
}

PtState Model::HugetlbSlotTable(const Process& p, uint32_t page) const {
  // mm/pagewalk.c walk_hugetlb_range(): hugetlb_walk() finds the huge PTE's
  // slot only where the 1 GiB range has a PMD table; without one the walk
  // takes ->pte_hole(). Any PTE table or huge PTE in that GiB proves it; the
  // table may also outlive everything the model sees (it is freed only with
  // the last VMA of the GiB, free_pgd_range()), and fork's copy_pmd_range()
  // allocates the child's for any VMA it copies: unknown then (PAGEMAP_SCAN
  // allows both, task_mmu.cc). A PTE table that PT_RECLAIM may have freed
  // (kUnknown) left its PMD table.
  uint32_t g = page / kPagesPerPud * (kPagesPerPud / kPagesPerPmd);
  for (auto it = p.pt.LowerBound(g); it != p.pt.end() && it->first < g + kPagesPerPud / kPagesPerPmd; ++it) {
    if (it->second == PtState::kPresent) return PtState::kPresent;
    bool hugetlb_slot = false;
    for (const Vma& v : p.vmas)
      hugetlb_slot |= v.kind == MemKind::kHugetlb && v.start <= it->first * kPagesPerPmd && it->first * kPagesPerPmd < v.end;
    if (!hugetlb_slot) return PtState::kPresent;
  }
  return PtState::kUnknown;
}

// --- mmap -------------------------------------------------------------------

Result Model::DoMmapHugetlb(Step& s) {
  const Op& op = s.op;
  Process& p = st_.procs[op.proc];
  // mm/mmap.c ksys_mmap_pgoff(): MAP_HUGETLB rounds the length up to huge
  // pages and sets up an anonymous hugetlbfs file (hugetlb_file_setup() with
  // VM_NORESERVE: no reservation yet). do_mmap(): get_unmapped_area() →
  // hugetlb_get_unmapped_area() / prepare_hugepage_range() refuses an
  // unaligned fixed address (EINVAL; do_mmap() adds MAP_FIXED to
  // MAP_FIXED_NOREPLACE), MAP_FIXED_NOREPLACE an overlap (EEXIST), then
  // hugetlbfs_file_mmap() → hugetlb_reserve_pages() (ENOMEM).
  if (op.page % kHuge) return Err(EINVAL);
  uint32_t n = (op.npages + kHuge - 1) / kHuge;
  uint32_t lo = op.page, hi = op.page + n * kHuge;
  if (!(op.flags & kFlagFixed)) {
    size_t i = st_.FirstVmaEnding(p, lo);
    if (i < p.vmas.size() && p.vmas[i].start < hi) return Err(EEXIST);  // mm/mmap.c do_mmap()
  }
  bool noreserve = op.flags & kFlagNoreserve;
  if (!noreserve) {
    // mm/hugetlb.c hugetlb_reserve_pages() → hugetlb_acct_memory() →
    // gather_surplus_pages(): resv_huge_pages + n > free_huge_pages needs
    // surplus pages, which nr_overcommit_hugepages = 0 never gives: ENOMEM.
    if (st_.huge_rsvd + n <= st_.huge_free && st_.huge_rsvd + st_.huge_rsvd_maybe + n > st_.huge_free)
      s.pred->unmodelled = "a hugetlb reservation the pool may refuse (a zapped page's reservation restored)";
    if (st_.huge_rsvd + n > st_.huge_free) {
      // MAP_FIXED: whether the old mapping survives the failure depends on
      // the kernel's mmap_region() (unmap first on 6.1, restored later).
      if (op.flags & kFlagFixed) s.pred->unmodelled = "failing fixed hugetlb mmap";
      return Err(ENOMEM);
    }
  }
  if (op.shared) {
    // mm/hugetlb.c want_pmd_share() / vma_shareable(): a shared VMA covering
    // a whole aligned GiB may share its PMD table with other processes
    // (hugetlb_pmd_shared() then clears PM_MMAP_EXCLUSIVE): not modelled.
    uint32_t g = (lo + kPagesPerPud - 1) / kPagesPerPud * kPagesPerPud;
    if (g + kPagesPerPud <= hi) s.pred->unmodelled = "a shared hugetlb mapping of a whole GiB (PMD sharing)";
  }
  if (op.flags & kFlagFixed) {
    // The old range goes first; its hugetlb VMAs split on boundaries only,
    // and [lo, hi) is aligned.
    if (NobodyReads(op.proc, lo, hi, kUffdEventUnmap)) s.pred->unmodelled = "a uffd event nobody reads";
    UnmapRange(op.proc, lo, hi);
  }
  int32_t obj = static_cast<int32_t>(st_.files.size());
  FileObj f;
  f.kind = MemKind::kHugetlb;
  f.size = n * kHuge;
  st_.files.push_back(std::move(f));
  Vma v;
  v.start = lo;
  v.end = hi;
  v.prot = op.prot;
  v.shared = op.shared;
  v.kind = MemKind::kHugetlb;
  v.obj = obj;
  v.pgoff = 0;
  v.noreserve = noreserve;
  v.account = false;  // mm/mmap.c accountable_mapping(): never for hugetlb files
  v.resv_owner = !op.shared && !noreserve;  // hugetlb_reserve_pages(): set_vma_resv_flags(HPAGE_RESV_OWNER)
  v.soft_dirty = true;  // a new VMA: VM_SOFTDIRTY (§4.3)
  p.vmas.insert(p.vmas.begin() + st_.FirstVmaEnding(p, lo), v);
  if (!noreserve) {
    // hugetlb_reserve_pages(): a private mapping reserves every page for its
    // owner's resv_map; a shared one in its (new) file's resv_map.
    for (uint32_t k = 0; k < n; k++)
      st_.huge_resv[op.shared ? FileKey(obj, k * kHuge) : PrivKey(op.proc, lo + k * kHuge)] = true;
    st_.huge_rsvd += n;
  }
  for (uint32_t a = lo; a < hi; a += kHuge)
    if (!p.pt.Find(MmState::Slot(a))) p.pt[MmState::Slot(a)] = HugetlbSlotTable(p, a);
  if ((op.flags & kFlagPopulate) && v.Readable()) {
    // mm/gup.c populate_vma_page_range(): write faults for a private writable
    // mapping, else read faults; the first failure stops it, ignored.
    bool write = !v.shared && v.Writable();
    for (uint32_t a = lo; a < hi; a += kHuge) {
      std::string why = HugetlbFaultUnmodelled(p, a, write);
      if (!why.empty()) s.pred->unmodelled = why;
      uint8_t faults = 0;
      if (FaultIn(op.proc, a, write, &faults) != Fault::kNone) break;
    }
  }
  return Ok();
}

// --- the pool ---------------------------------------------------------------

bool Model::HugetlbPageAvailable(int proc, const Vma& v, uint32_t slot, bool use_reserve) const {
  uint64_t key = v.shared ? FileKey(v.obj, v.FilePage(slot)) : PrivKey(proc, slot);
  if (use_reserve && (v.shared || v.resv_owner) && st_.huge_resv.Find(key)) return true;
  return st_.huge_free > st_.huge_rsvd;
}

uint32_t Model::HugetlbAlloc(int proc, const Vma& v, uint32_t slot, bool use_reserve) {
  // mm/hugetlb.c alloc_hugetlb_folio(): the page reserved for this index
  // (vma_needs_reservation() == 0: consumed, resv_huge_pages--) or else a
  // free page no reservation holds (dequeue_hugetlb_folio_vma(): free -
  // resv > 0); none → -ENOSPC.
  uint64_t key = v.shared ? FileKey(v.obj, v.FilePage(slot)) : PrivKey(proc, slot);
  if (use_reserve && (v.shared || v.resv_owner) && st_.huge_resv.Find(key)) {
    st_.huge_resv.Erase(key);
    st_.huge_rsvd--;
  } else if (st_.huge_free <= st_.huge_rsvd) {
    return kZeroPage;
  }
  st_.huge_free--;
  uint32_t id = st_.NewPage(/*anon=*/!v.shared);
  st_.pages[id].huge = true;
  if (v.shared) {
    // hugetlb_add_to_page_cache(): the shared file keeps it.
    st_.files[v.obj].cache[v.FilePage(slot)] = id;
    st_.Ref(id);
  }
  return id;
}

void Model::HugetlbReleased(int proc) {
  // mm/hugetlb.c hugetlb_vm_op_close(): a private owner's reservations of
  // the closed range that no fault consumed go back (hugetlb_acct_memory()).
  const Process& p = st_.procs[proc];
  std::vector<uint64_t> gone;
  for (auto& [key, yes] : st_.huge_resv) {
    if (IsFileKey(key) || static_cast<int>(key >> 24) != proc) continue;
    int vi = st_.VmaAt(p, static_cast<uint32_t>(key & 0xffffff));
    if (vi < 0 || p.vmas[vi].kind != MemKind::kHugetlb || !p.vmas[vi].resv_owner) gone.push_back(key);
  }
  // fs/hugetlbfs/inode.c hugetlbfs_evict_inode(): a hugetlb file no VMA maps
  // any more (the anonymous file has no fd) is freed: remove_inode_hugepages()
  // frees its pages, hugetlb_unreserve_pages() returns its unused reservations.
  for (int32_t obj = 0; obj < static_cast<int32_t>(st_.files.size()); obj++) {
    FileObj& f = st_.files[obj];
    if (f.kind != MemKind::kHugetlb) continue;
    bool mapped = false;
    for (const Process& q : st_.procs)
      for (const Vma& v : q.vmas) mapped |= v.obj == obj;
    if (mapped) continue;
    if (!f.cache.empty()) st_.DropCache(obj, 0, UINT32_MAX);
    for (auto it = st_.huge_resv.LowerBound(FileKey(obj, 0)); it != st_.huge_resv.end() && it->first < FileKey(obj + 1, 0);
         ++it)
      gone.push_back(it->first);
  }
  for (uint64_t key : gone) {
    st_.huge_resv.Erase(key);
    st_.huge_rsvd--;
  }
  // A restored reservation goes back with its owner's VMA.
  bool owners = false;
  for (const Process& q : st_.procs)
    for (const Vma& v : q.vmas) owners |= v.kind == MemKind::kHugetlb && v.resv_owner;
  if (!owners) st_.huge_rsvd_maybe = 0;
}

// --- faults -----------------------------------------------------------------

std::string Model::HugetlbFaultUnmodelled(const Process& p, uint32_t page, bool write) const {
  int vi = st_.VmaAt(p, page);
  if (vi < 0) return "";
  const Vma& v = p.vmas[vi];
  if (!v.Readable() || (write && !v.Writable())) return "";
  uint32_t s0 = HStart(page);
  const Pte* cur = p.ptes.Find(s0);
  bool none_like = !cur || cur->kind == PteKind::kUffdMarker;
  // A uffd-wp bit or marker left in a VMA no longer registered for WP: a
  // write never clears it (hugetlb_fault() tests userfaultfd_wp() first,
  // hugetlb_wp() refuses to COW a uffd-wp entry). A read of a marker maps
  // the page as below: hugetlb_no_page() keeps the bit without asking the
  // VMA ([EMP] 6.12.118, 6.1.192).
  if (write && cur && (cur->uffd_wp || cur->kind == PteKind::kUffdMarker) && !v.UffdWp())
    return "fault on a hugetlb entry with a stale uffd-wp bit";
  int proc = static_cast<int>(&p - st_.procs.data());
  bool cached = v.shared && st_.files[v.obj].cache.Find(v.FilePage(s0));
  bool cow = !none_like && write && !v.shared && st_.pages[cur->page].mapcount > kHuge;
  bool allocates = (none_like && !cached) || cow;
  if (!allocates) return "";
  bool own = none_like && (v.shared || v.resv_owner) &&
             st_.huge_resv.Find(v.shared ? FileKey(v.obj, v.FilePage(s0)) : PrivKey(proc, s0));
  if (!own && st_.huge_free > st_.huge_rsvd && st_.huge_free <= st_.huge_rsvd + st_.huge_rsvd_maybe)
    return "a hugetlb allocation the pool may refuse (a zapped page's reservation restored)";
  if (cow && v.resv_owner && !HugetlbPageAvailable(proc, v, s0, false))
    return "hugetlb COW of the reservation owner with an empty pool (unmap_ref_private())";
  if (none_like && (v.uffd_modes & kUffdModeMissing) && !HugetlbPageAvailable(proc, v, s0, true))
    return "MISSING userfault on hugetlb with an empty pool";
  return "";
}

Model::Fault Model::HugetlbFault(int proc, uint32_t page, bool write, uint8_t* uffd_faults) {
  Process& p = st_.procs[proc];
  int vi = st_.VmaAt(p, page);
  const Vma v = p.vmas[vi];
  if (!v.Readable() || (write && !v.Writable())) return Fault::kSegv;
  uint32_t s0 = HStart(page);
  auto set_all = [&](const Pte& pte) {
    for (uint32_t a = s0; a < s0 + kHuge; a++) st_.SetPte(p, a, pte);
  };
  const Pte* cur = p.ptes.Find(s0);
  if (!cur || cur->kind == PteKind::kUffdMarker) {
    // mm/hugetlb.c hugetlb_fault(): a none entry or a marker goes to
    // hugetlb_no_page(), which keeps a marker's uffd-wp bit
    // (pte_marker_uffd_wp(orig_pte) → huge_pte_mkuffd_wp(), write-protected).
    bool wp = cur != nullptr;
    uint32_t fp = v.FilePage(s0);
    const uint32_t* cached = v.shared ? st_.files[v.obj].cache.Find(fp) : nullptr;
    // make_huge_pte(writable = VM_WRITE && VM_SHARED): huge_pte_mkdirty(),
    // so soft-dirty, only when mapped writable.
    bool sd = v.shared && v.Writable();
    uint32_t id;
    if (!v.shared) EnsureAnonVma(p, vi);  // hugetlb_no_page(): vmf_anon_prepare() of a private VMA
    if (cached && (v.uffd_modes & kUffdModeMinor)) {
      // hugetlb_no_page(): a cached folio in a MINOR VMA →
      // hugetlb_handle_userfault(VM_UFFD_MINOR); the handler's
      // UFFDIO_CONTINUE (2 MiB) → hugetlb_mfill_atomic_pte(): make_huge_pte()
      // writable, huge_pte_mkdirty(), no uffd-wp (mode 0).
      *uffd_faults |= kFaultMinor;
      id = *cached;
      sd = true;
      wp = false;
    } else if (!cached && (v.uffd_modes & kUffdModeMissing)) {
      // MISSING userfault; the handler's UFFDIO_ZEROPAGE is EINVAL on
      // hugetlb, its UFFDIO_COPY of 2 MiB of zeroes →
      // hugetlb_mfill_atomic_pte(): a new page, writable and dirty.
      *uffd_faults |= kFaultMissing;
      id = HugetlbAlloc(proc, v, s0, true);
      if (id == kZeroPage) return Fault::kBus;  // reported unmodelled (the handler would retry forever)
      sd = true;
      wp = false;
    } else if (cached) {
      id = *cached;
    } else {
      id = HugetlbAlloc(proc, v, s0, true);
      // hugetlb_no_page(): alloc_hugetlb_folio() fails → vmf_error(-ENOSPC) = VM_FAULT_SIGBUS.
      if (id == kZeroPage) return Fault::kBus;
    }
    set_all(Pte{PteKind::kPresent, sd && profile_.soft_dirty, wp, id});
    cur = p.ptes.Find(s0);
  }
  if (!write) return Fault::kNone;
  if (cur->uffd_wp) {
    // hugetlb_fault(): a write to a uffd-wp huge PTE: sync → handle_userfault
    // (VM_UFFD_WP), the handler's UFFDIO_WRITEPROTECT (mode 0, 2 MiB) clears
    // it; async → huge_pte_clear_uffd_wp() in place, then hugetlb_wp().
    if (v.uffd >= 0 && !st_.uffds[v.uffd].Async()) *uffd_faults |= kFaultWp;
    for (uint32_t a = s0; a < s0 + kHuge; a++) p.ptes.Find(a)->uffd_wp = false;
  }
  // A writable clean huge PTE (mprotect, above): the write takes no fault;
  // the CPU sets the dirty bit, not soft-dirty.
  if (cur->sd_silent && !cur->uffd_wp) return Fault::kNone;
  uint32_t old = cur->page;
  if (!v.shared && st_.pages[old].mapcount > kHuge) {
    // mm/hugetlb.c hugetlb_wp(): a private page mapped more than once (after
    // fork) is copied into a new page; the owner allocates outside its
    // reserve (outside_reserve), a child has none. Failure → VM_FAULT_SIGBUS.
    uint32_t id = HugetlbAlloc(proc, v, s0, false);
    if (id == kZeroPage) return Fault::kBus;
    st_.pages[id].bytes = st_.pages[old].bytes;
    set_all(Pte{PteKind::kPresent, profile_.soft_dirty, false, id});
    return Fault::kNone;
  }
  // hugetlb_wp(): shared → set_huge_ptep_writable(); a private page mapped
  // once → reused (set_huge_ptep_maybe_writable()); both huge_pte_mkdirty():
  // soft-dirty (a writable huge PTE is always dirty, so writes to it take no
  // fault and change nothing).
  for (uint32_t a = s0; a < s0 + kHuge; a++) {
    p.ptes.Find(a)->soft_dirty = profile_.soft_dirty;
    p.ptes.Find(a)->sd_silent = false;
  }
  return Fault::kNone;
}

Result Model::HugetlbAccess(Step& s, bool write) {
  const Op& op = s.op;
  Process& p = st_.procs[op.proc];
  std::string why = HugetlbFaultUnmodelled(p, op.page, write);
  if (!why.empty()) s.pred->unmodelled = why;
  uint8_t faults = 0;
  Fault f = FaultIn(op.proc, op.page, write, &faults);
  if (faults && NobodyReads(op.proc, op.page, op.page + 1, 0)) s.pred->unmodelled = "a userfault nobody answers";
  if (f != Fault::kNone) return FaultResult(f);
  const Pte* pte = p.ptes.Find(op.page);
  uint32_t off = (op.page - HStart(op.page)) * static_cast<uint32_t>(kPageSize) + op.offset;
  Result r;
  r.uffd_faults = faults;
  if (write) {
    st_.pages[pte->page].bytes.Set(off, WriteToken(op, s.index));
    r.kind = ResultKind::kOk;
  } else {
    r.kind = ResultKind::kValue;
    r.value = st_.pages[pte->page].bytes.Get(off);
  }
  return r;
}

// --- madvise ----------------------------------------------------------------

Result Model::HugetlbMadvise(Step& s) {
  const Op& op = s.op;
  Process& p = st_.procs[op.proc];
  uint32_t lo = op.page, hi = op.page + op.npages;
  for (uint32_t a = lo; a < hi;) {
    int vi = st_.VmaAt(p, a);
    if (vi < 0 || p.vmas[vi].kind != MemKind::kHugetlb) {
      s.pred->unmodelled = "madvise over a hugetlb mapping and other memory";
      return Ok();
    }
    a = p.vmas[vi].end;
  }
  const Vma& first = p.vmas[st_.VmaAt(p, lo)];
  switch (op.advice) {
    case Advice::kDontneed:
      // mm/madvise.c madvise_walk_vmas() per VMA → madvise_dontneed_free():
      // madvise_dontneed_free_valid_vma(): the start on a huge page boundary
      // (else EINVAL), the end rounded down to one; zap_page_range_single()
      // → __unmap_hugepage_range() without ZAP_FLAG_DROP_MARKER: a uffd-wp
      // entry leaves a marker, markers stay (Zap::kDontneed on a file VMA).
      for (uint32_t a = lo; a < hi;) {
        const Vma v = p.vmas[st_.VmaAt(p, a)];
        uint32_t b = std::min(hi, v.end);
        if (a % kHuge) return Err(EINVAL);
        uint32_t e = HStart(b);
        if (v.resv_owner)
          for (uint32_t x = a; x < e; x += kHuge)
            if (const Pte* pte = p.ptes.Find(x); pte && pte->kind == PteKind::kPresent) {
              // 6.12 __unmap_hugepage_range() restores the owner's reservation
              // of a private page (__vma_private_lock(),
              // folio_set_hugetlb_restore_reserve(), vma_add_reservation()),
              // 6.1 does not: HugePages_Rsvd may be one more.
              st_.huge_rsvd_maybe++;
            }
        if (a < e) ZapRange(op.proc, a, e, Zap::kDontneed);
        a = b;
      }
      return Ok();
    case Advice::kFree:
      return Err(EINVAL);  // madvise_dontneed_free_valid_vma(): only MADV_DONTNEED(_LOCKED) on hugetlb
    case Advice::kRemove:
      // mm/madvise.c madvise_remove(): a private mapping → EACCES
      // (!vma_is_shared_maywrite()); a shared one punches the file
      // (hugetlbfs_punch_hole()), not modelled.
      if (!first.shared) return Err(EACCES);
      s.pred->unmodelled = "MADV_REMOVE of a shared hugetlb mapping";
      return Ok();
    case Advice::kWillneed:
      // mm/madvise.c madvise_willneed(): vfs_fadvise() on the hugetlbfs file
      // (no read_folio/readahead: nothing read), then 0 whatever it says.
      return Ok();
    case Advice::kCold:
    case Advice::kPageout:
      return Err(EINVAL);  // mm/madvise.c can_madv_lru_vma(): VM_HUGETLB
    case Advice::kWipeonfork:
      return Err(EINVAL);  // mm/madvise.c madvise_behavior(): a file VMA
    case Advice::kPopulateRead:
    case Advice::kPopulateWrite: {
      // mm/madvise.c madvise_populate() → faultin_page_range(): each huge
      // page faulted as a user access would; check_vma_flags() refuses the
      // access the VMA lacks (EINVAL), a VM_FAULT_SIGBUS is EFAULT.
      bool write = op.advice == Advice::kPopulateWrite;
      for (uint32_t a = lo; a < hi;) {
        const Vma v = p.vmas[st_.VmaAt(p, a)];
        if (!v.Readable() || (write && !v.Writable())) return Err(EINVAL);
        if (v.uffd_modes) s.pred->unmodelled = "populate of a uffd-registered range";
        uint32_t b = std::min(hi, v.end);
        for (uint32_t x = a; x < b; x = HStart(x) + kHuge) {
          std::string why = HugetlbFaultUnmodelled(p, x, write);
          if (!why.empty()) s.pred->unmodelled = why;
          uint8_t faults = 0;
          if (FaultIn(op.proc, x, write, &faults) != Fault::kNone) return Err(EFAULT);
        }
        a = b;
      }
      return Ok();
    }
    case Advice::kGuardInstall:
    case Advice::kGuardRemove:
      s.pred->unmodelled = "guard regions on hugetlb";
      return Ok();
    case Advice::kHugepage:
    case Advice::kNohugepage:
    case Advice::kDontfork:
    case Advice::kDofork:
    case Advice::kKeeponfork:
      break;
  }
  // Flag advice: madvise_update_vma() splits only when the flags change
  // (vma_modify_flags() → hugetlb_vm_op_split(): EINVAL off a boundary).
  if (HugetlbSplitRefused(p, lo) || HugetlbSplitRefused(p, hi)) {
    auto changes = [&](const Vma& v) {
      switch (op.advice) {
        case Advice::kHugepage: return !v.hugepage || v.nohugepage;
        case Advice::kNohugepage: return !v.nohugepage || v.hugepage;
        case Advice::kDontfork: return !v.dontfork;
        case Advice::kDofork: return v.dontfork;
        default: return false;
      }
    };
    int a = st_.VmaAt(p, lo), b = st_.VmaAt(p, hi - 1);
    if (a != b) {
      s.pred->unmodelled = "madvise refused at a hugetlb split after changing other VMAs";
      return Ok();
    }
    if (changes(p.vmas[a])) return Err(EINVAL);
    return Ok();
  }
  return DoMadvise(s);
}

// --- the op hook -------------------------------------------------------------

bool Model::HugetlbOp(Step& s, Result* out) {
  const Op& op = s.op;
  if (op.proc >= st_.procs.size() || !st_.procs[op.proc].alive) return false;
  Process& p = st_.procs[op.proc];
  uint32_t lo = op.page, hi = op.page + op.npages;
  switch (op.kind) {
    case OpKind::kMmap:
      if (!(op.flags & kFlagHugetlb) && (op.flags & kFlagFixed) && op.npages &&
          (HugetlbSplitRefused(p, lo) || HugetlbSplitRefused(p, hi)))
        s.pred->unmodelled = "MAP_FIXED splitting a hugetlb mapping off a huge page boundary";
      return false;
    case OpKind::kMunmap:
      // 6.1 do_mas_align_munmap(), 6.12 do_vmi_align_munmap(): the splits at
      // both ends (hugetlb_vm_op_split()) before anything is unmapped.
      // The split at the start comes first and stays when the end's is
      // refused: 6.12 mm/vma.c vms_gather_munmap_vmas() splits vms->start,
      // then the end's __split_vma() fails and it aborts without merging
      // back (6.1 do_mas_align_munmap() in the same order). A later mremap
      // of the whole first VMA then fails with EFAULT (a 6.12 campaign).
      if (op.npages && (HugetlbSplitRefused(p, lo) || HugetlbSplitRefused(p, hi))) {
        if (!HugetlbSplitRefused(p, lo)) st_.SplitAt(p, lo);
        *out = Err(EINVAL);
        return true;
      }
      return false;
    case OpKind::kMprotect: {
      // mm/mprotect.c mprotect_fixup(): splits only a VMA whose flags change;
      // VMAs before the refused split keep their change.
      if (!op.npages) return false;
      int a = st_.VmaAt(p, lo), b = st_.VmaAt(p, hi - 1);
      bool refuse_lo = HugetlbSplitRefused(p, lo) && p.vmas[a].prot != op.prot;
      bool refuse_hi = HugetlbSplitRefused(p, hi) && b >= 0 && p.vmas[b].prot != op.prot;
      if (refuse_lo || (refuse_hi && a == b)) {
        *out = Err(EINVAL);
        return true;
      }
      if (refuse_hi) s.pred->unmodelled = "mprotect refused at a hugetlb split after changing other VMAs";
      if (!TouchesHugetlb(p, lo, hi)) return false;
      *out = DoMprotect(s);
      // hugetlb_change_protection() applies vm_page_prot with
      // huge_pte_modify(), which keeps dirty and soft-dirty: a shared
      // writable VMA's is writable (vma_wants_writenotify() ignores
      // soft-dirty for hugetlb; uffd-wp wants it), so a clean huge PTE
      // becomes writable and clean, and a write then takes no fault and
      // leaves its soft-dirty bit clear (Pte::sd_silent on hugetlb).
      for (size_t i = st_.FirstVmaEnding(p, lo); i < p.vmas.size() && p.vmas[i].start < hi; i++) {
        const Vma& v = p.vmas[i];
        if (v.kind != MemKind::kHugetlb) continue;
        bool writable = v.shared && v.Writable() && !v.UffdWp();
        for (auto it = p.ptes.LowerBound(std::max(lo, v.start)); it != p.ptes.end() && it->first < std::min(hi, v.end); ++it)
          if (it->second.kind == PteKind::kPresent)
            it->second.sd_silent = writable && !it->second.soft_dirty && !it->second.uffd_wp;
      }
      return true;
    }
    case OpKind::kFork:
      // Quirk hugetlb_fork_keeps_uffd_wp: the child would keep the bit (and
      // hang on a write), which the model does not follow.
      if (profile_.quirks.Has(Quirk::kHugetlbForkKeepsUffdWp))
        for (const Vma& v : p.vmas) {
          bool child_wp = v.uffd >= 0 && (st_.uffds[v.uffd].features & kUffdEventFork) && v.UffdWp();
          if (v.kind != MemKind::kHugetlb || v.dontfork || child_wp || !v.anon_vma) continue;
          for (auto it = p.ptes.LowerBound(v.start); it != p.ptes.end() && it->first < v.end; ++it)
            if (it->second.kind == PteKind::kPresent && it->second.uffd_wp)
              s.pred->unmodelled = "fork of a uffd-wp hugetlb page into a VMA without uffd-wp (quirk hugetlb_fork_keeps_uffd_wp)";
        }
      return false;
    case OpKind::kMremap:
      if (TouchesHugetlb(p, lo, hi) ||
          ((op.flags & kFlagMove) && TouchesHugetlb(p, op.new_page, op.new_page + op.new_npages)))
        s.pred->unmodelled = "mremap of a hugetlb mapping";
      return false;
    case OpKind::kMadvise:
      if (!op.npages || !TouchesHugetlb(p, lo, hi)) return false;
      if ((op.advice == Advice::kGuardInstall || op.advice == Advice::kGuardRemove) && !profile_.guard) return false;
      *out = HugetlbMadvise(s);
      return true;
    case OpKind::kRead:
    case OpKind::kWrite: {
      int vi = st_.VmaAt(p, op.page);
      if (vi < 0 || p.vmas[vi].kind != MemKind::kHugetlb) return false;
      *out = HugetlbAccess(s, op.kind == OpKind::kWrite);
      return true;
    }
    default:
      return false;
  }
}

// --- fork ---------------------------------------------------------------------

void Model::CopyHugetlbRange(int parent, int child, const Vma& pv) {
  Process& p = st_.procs[parent];
  Process& c = st_.procs[child];
  Vma& cv = c.vmas.back();
  // kernel/fork.c dup_mmap() → hugetlb_dup_vma_private(): the child's VMA
  // holds no reservation.
  cv.resv_owner = false;
  // mm/memory.c copy_page_range() → vma_needs_copy(): a uffd-wp child VMA
  // or an anon_vma (a faulted private mapping); a shared one refaults.
  if (!cv.UffdWp() && !pv.anon_vma) return;
  // mm/hugetlb.c copy_hugetlb_page_range(): a present entry maps the same
  // page (a private one write-protected in both: COW), uffd-wp kept only if
  // the child VMA is uffd-wp; a marker is copied only into a uffd-wp VMA
  // (6.12 copy_pte_marker(), 6.1 userfaultfd_wp(dst_vma)). Soft-dirty as is.
  for (auto it = p.ptes.LowerBound(pv.start); it != p.ptes.end() && it->first < pv.end; ++it) {
    Pte pte = it->second;
    if (pte.kind == PteKind::kUffdMarker && !cv.UffdWp()) continue;
    pte.uffd_wp = pte.uffd_wp && cv.UffdWp();
    st_.SetPte(c, it->first, pte);
  }
  for (uint32_t a = pv.start; a < pv.end; a += kHuge)
    if (const PtState* ps = p.pt.Find(MmState::Slot(a)); ps && !c.pt.Find(MmState::Slot(a)))
      c.pt[MmState::Slot(a)] = *ps;
}

// --- observations -------------------------------------------------------------

uint64_t Model::HugetlbPagemapEntry(const Vma& vma, const Variant& v) const {
  // fs/proc/task_mmu.c pagemap_hugetlb_range(): soft-dirty from VM_SOFTDIRTY
  // only (the huge PTE's bit is not read); present: FILE for a page-cache
  // page, MMAP_EXCLUSIVE when mapped once (6.1 page_mapcount() == 1, 6.12
  // !folio_likely_mapped_shared(): mapcount > 1 for hugetlb), UFFD_WP;
  // a marker: UFFD_WP only (no PM_SWAP).
  uint64_t e = vma.soft_dirty && profile_.soft_dirty ? kPmSoftDirty : 0;
  if (!v) return e;
  if (v->kind == PteKind::kUffdMarker) return e | kPmUffdWp;
  const PageObj& pg = st_.pages[v->page];
  e |= kPmPresent;
  if (!pg.anon) e |= kPmFile;
  if (pg.mapcount <= kHuge) e |= kPmMmapExclusive;
  if (v->uffd_wp) e |= kPmUffdWp;
  return e;
}

uint32_t Model::HugetlbCategories(const Pte* pte) const {
  // fs/proc/task_mmu.c pagemap_hugetlb_category() (6.12; 6.1 has no
  // PAGEMAP_SCAN): HUGE always; present: PRESENT, WRITTEN unless uffd-wp,
  // FILE for a page-cache page, SOFT_DIRTY from the huge PTE's own bit
  // (pte_soft_dirty(): set when it was made writable and dirty, never
  // cleared by clear_refs) — pagemap reads VM_SOFTDIRTY instead; a marker
  // is a swap pte (is_swap_pte()): SWAPPED, not written, not soft-dirty. A
  // none entry: HUGE only (not WRITTEN, unlike a 4K none PTE).
  uint32_t c = kCatHuge;
  if (!pte) return c;
  if (pte->kind == PteKind::kUffdMarker) return c | kCatSwapped;
  c |= kCatPresent;
  if (!pte->uffd_wp) c |= kCatWritten;
  if (!st_.pages[pte->page].anon) c |= kCatFile;
  if (pte->soft_dirty && profile_.soft_dirty) c |= kCatSoftDirty;
  return c;
}

}  // namespace mmdiff
