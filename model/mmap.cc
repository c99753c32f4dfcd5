// mmap, munmap, VMA merging and anon_vma reuse: mm/mmap.c, mm/vma.c (6.12
// moved much of mm/mmap.c there). Kernel references are to docs/CONTRACT.md
// sections and the kernel files they cite ([61] = Debian 6.1.192, [UP] =
// current upstream).
#include <algorithm>
#include <cerrno>

#include "model/model.h"
#include "model/result_make.h"

namespace mmdiff {

// --- mmap ---------------------------------------------------------------

Result Model::DoMmap(Step& s) {
  const Op& op = s.op;
  Process& p = st_.procs[op.proc];
  // mm/mmap.c ksys_mmap_pgoff(): the fd is looked up first (EBADF), and a
  // MAP_HUGETLB of a file that is not hugetlbfs refused (EINVAL), before
  // do_mmap() checks the length (EINVAL for 0).
  if (op.backing != Backing::kAnon && p.fds[op.file] < 0) return Err(EBADF);
  if ((op.flags & kFlagHugetlb) && op.backing != Backing::kAnon) return Err(EINVAL);  // mm/mmap.c ksys_mmap_pgoff()
  if (op.npages == 0) return Err(EINVAL);  // mm/mmap.c do_mmap(): !len
  if (op.flags & kFlagHugetlb) return DoMmapHugetlb(s);  // model/hugetlb.cc
  int32_t obj = op.backing != Backing::kAnon ? p.fds[op.file] : -1;  // looked up above
  uint32_t lo = op.page, hi = op.page + op.npages;
  if (!(op.flags & kFlagFixed)) {
    // mm/mmap.c do_mmap(): MAP_FIXED_NOREPLACE, any overlap → EEXIST.
    size_t i = st_.FirstVmaEnding(p, lo);
    if (i < p.vmas.size() && p.vmas[i].start < hi) return Err(EEXIST);  // mm/mmap.c do_mmap()
  }
  if ((op.flags & kFlagFixed) && NobodyReads(op.proc, lo, hi, kUffdEventUnmap))
    s.pred->unmodelled = "a uffd event nobody reads";
  // mm/mmap.c mmap_region() (6.12: __mmap_region()): accountable_mapping()
  // (private, writable, no MAP_NORESERVE) charges the whole length before the
  // VMA exists; security_vm_enough_memory_mm() refuses it → ENOMEM.
  bool writable = op.prot == Prot::kRW || op.prot == Prot::kRWX;
  if (!op.shared && writable && !(op.flags & kFlagNoreserve) && CommitRefused(op.npages)) {
    // MAP_FIXED: whether the old mapping survives the failure depends on the
    // kernel (6.1 unmapped it first; later kernels restore it).
    if (op.flags & kFlagFixed) s.pred->unmodelled = "failing fixed mmap";
    return Err(ENOMEM);  // mm/mmap.c mmap_region(): security_vm_enough_memory_mm()
  }

  if (op.flags & kFlagFixed) {
    // MAP_FIXED replaces: the old range is unmapped first (markers dropped).
    // The old VMAs' page tables go before the new VMA is in place
    // (free_pgtables() between the neighbours: mmap_region() unmaps first).
    UnmapRange(op.proc, lo, hi);
  }
  Vma v;
  v.start = lo;
  v.end = hi;
  v.prot = op.prot;
  v.shared = op.shared;
  v.noreserve = op.flags & kFlagNoreserve;
  if (op.backing == Backing::kAnon) {
    if (op.shared) {
      // mm/shmem.c shmem_zero_setup(): a fresh unnamed shmem file of the mapping's size.
      v.kind = MemKind::kShmem;
      v.obj = static_cast<int32_t>(st_.files.size());
      FileObj f;
      f.kind = MemKind::kShmem;
      f.size = op.npages;
      st_.files.push_back(std::move(f));
      v.pgoff = 0;
    } else {
      v.kind = MemKind::kAnon;
      v.pgoff = lo;  // anonymous vm_pgoff = address >> PAGE_SHIFT
    }
  } else {
    v.kind = st_.files[obj].kind;
    v.obj = obj;
    v.open = p.fd_open[op.file];
    v.pgoff = op.file_pgoff;
  }
  // mm/mmap.c accountable_mapping(): private writable mappings without MAP_NORESERVE.
  v.account = !v.shared && v.Writable() && !v.noreserve;
  // New (or expanded) VMAs always get VM_SOFTDIRTY ([61] mm/mmap.c:2876-2882,
  // [UP] __mmap_complete()).
  v.soft_dirty = true;
  size_t at = st_.FirstVmaEnding(p, lo);
  p.vmas.insert(p.vmas.begin() + at, v);
  uint32_t not_at = UINT32_MAX;
  if (!profile_.Has(kBehMmapMergesPrevFirst) && at > 0 && at + 1 < p.vmas.size()) {
    // [61] mm/mmap.c mmap_region(): next is tried first, against the new
    // area's anon_vma (none); prev then against the anon_vma of the VMA it
    // would join (next's, when next merges): is_mergeable_anon_vma(next's,
    // prev's, prev) passes with one side NULL only if prev's own
    // anon_vma_chain is singular, never for a prev without anon_vma, and
    // otherwise wants the same anon_vma. Upstream (mm/vma.c
    // vma_merge_new_range()) tests each side against the new area and then
    // prev against next, which MergeAround() follows. (Found by a 6.1 guest
    // campaign: an unfaulted prev stayed apart, clean after clear_refs.)
    const Vma& prev = p.vmas[at - 1];
    const Vma& next = p.vmas[at + 1];
    if (prev.end == lo && next.start == hi && MmState::Mergeable(p.vmas[at], next) && next.anon_vma &&
        next.anon_vma != prev.anon_vma)
      not_at = lo;
  }
  st_.MergeAround(p, lo, hi, not_at);

  if (op.flags & kFlagPopulate) {
    // mm/gup.c populate_vma_page_range(): write faults for private writable mappings,
    // read faults otherwise; nothing for PROT_NONE; errors are ignored and stop
    // the walk ([61] mm/gup.c:1587-1594). In a THP-eligible range the first
    // fault of each 2 MiB maps a THP or the huge zero page (FaultIn).
    int vi = st_.VmaAt(p, lo);
    const Vma& nv = p.vmas[vi];
    if (nv.Readable()) {
      bool write = !nv.shared && nv.Writable();
      for (uint32_t pg = lo; pg < hi; pg++) {
        uint8_t faults = 0;
        if (FaultIn(op.proc, pg, write, &faults) != Fault::kNone) break;
      }
    }
  }
  return Ok();
}

// --- munmap ---------------------------------------------------------------

Result Model::DoMunmap(Step& s) {
  const Op& op = s.op;
  // 6.1 mm/mmap.c do_mas_munmap(), 6.12 mm/vma.c do_vmi_munmap(): end == start.
  if (op.npages == 0) return Err(EINVAL);
  if (NobodyReads(op.proc, op.page, op.page + op.npages, kUffdEventUnmap))
    s.pred->unmodelled = "a uffd event nobody reads";
  UnmapRange(op.proc, op.page, op.page + op.npages);
  return Ok();
}

// 6.1 mm/mmap.c do_mas_munmap() → do_mas_align_munmap(), 6.12 mm/vma.c
// do_vmi_munmap() → do_vmi_align_munmap(): split at both ends, unmap_region()
// (zap, then free_pgtables()), the VMAs removed.
void Model::UnmapRange(int proc, uint32_t lo, uint32_t hi) {
  Process& p = st_.procs[proc];
  st_.SplitAt(p, lo);
  st_.SplitAt(p, hi);
  ZapRange(proc, lo, hi, Zap::kUnmap);
  std::erase_if(p.vmas, [&](const Vma& v) { return v.start >= lo && v.end <= hi; });
  st_.FreeEmptyPt(p, lo, hi);
  HugetlbReleased(proc);  // hugetlb reservations and files (model/hugetlb.cc)
}

// 6.1 mm/mmap.c vma_merge(), 6.12 mm/vma.c vma_modify() →
// vma_merge_existing_range() (vma_merge_new_range() for new VMAs): one VMA
// survives the merge, with one part's flags (model.h Keeper).
void Model::MergeChanged(Process& p, uint32_t lo, uint32_t hi, Keeper keeper, uint32_t not_at,
                         uint32_t not_at2, const std::vector<uint32_t>* changed_starts) {
  if (!profile_.quirks.Has(Quirk::kSoftdirtyLostOnMerge)) {
    st_.MergeAround(p, lo, hi, not_at, not_at2, changed_starts);
    return;
  }
  std::vector<Vma> before = p.vmas;
  st_.MergeAround(p, lo, hi, not_at, not_at2, changed_starts);
  if (keeper != Keeper::kOutside)
    MarkSoftDirtyLoss(p, before, lo, hi, /*keeper_inside=*/true, Quirk::kSoftdirtyLostOnMerge);
  if (keeper != Keeper::kInside)
    MarkSoftDirtyLoss(p, before, lo, hi, /*keeper_inside=*/false, Quirk::kSoftdirtyLostOnMerge);
}

void Model::MarkSoftDirtyLoss(Process& p, const std::vector<Vma>& before, uint32_t lo, uint32_t hi,
                              bool keeper_inside, Quirk q) {
  // For each VMA that the merge made out of several: soft-dirty, but the
  // part whose flags the kernel keeps was not → the kernel may report it
  // clean. Inside [lo, hi) that is the last part changed: the op walks the
  // range's VMAs in order, and each merge sets the merged VMA's flags to the
  // VMA it is changing (6.1 mm/madvise.c madvise_update_vma() and
  // mm/mprotect.c mprotect_fixup(): vma->vm_flags = new_flags after
  // vma_merge(); 6.12 vm_flags_reset() after vma_modify_flags()), so an
  // earlier part's VM_SOFTDIRTY is overwritten. Outside it, any part.
  for (Vma& v : p.vmas) {
    if (!v.soft_dirty || v.end <= lo || v.start >= hi) continue;
    bool merged = true;
    bool keeper_sd = false;
    const Vma* last_inside = nullptr;
    for (const Vma& b : before) {
      if (b.start == v.start && b.end == v.end) merged = false;
      if (b.end <= v.start || b.start >= v.end) continue;
      bool inside = b.start < hi && b.end > lo;
      if (inside) last_inside = &b;
      if (!inside && !keeper_inside && b.soft_dirty && !b.sd_lost_quirk) keeper_sd = true;
    }
    if (keeper_inside && last_inside) keeper_sd = last_inside->soft_dirty && !last_inside->sd_lost_quirk;
    if (merged && !keeper_sd) v.sd_lost_quirk = static_cast<uint8_t>(static_cast<int>(q) + 1);
  }
}

// --- anon_vma ---------------------------------------------------------------

void Model::EnsureAnonVma(Process& p, size_t vi) {
  Vma& v = p.vmas[vi];
  if (v.anon_vma) return;
  // mm/rmap.c __anon_vma_prepare() → find_mergeable_anon_vma() (6.1 mm/mmap.c,
  // 6.12 mm/vma.c): reuse a neighbour's anon_vma when the two VMAs could merge
  // but for their protections, and the neighbour's anon_vma chain is singular
  // (anon_vma_compatible(), reusable_anon_vma()).
  auto compatible = [](const Vma& a, const Vma& b) {
    return a.end == b.start && a.kind == b.kind && a.obj == b.obj && a.shared == b.shared &&
           b.pgoff == a.pgoff + (a.end - a.start) && a.account == b.account &&
           a.noreserve == b.noreserve && a.dontfork == b.dontfork && a.wipeonfork == b.wipeonfork &&
           a.hugepage == b.hugepage && a.nohugepage == b.nohugepage && a.uffd_modes == b.uffd_modes;
  };
  if (vi + 1 < p.vmas.size()) {
    const Vma& n = p.vmas[vi + 1];
    if (n.anon_vma && !n.anon_vma_cloned && compatible(v, n)) {
      v.anon_vma = n.anon_vma;
      return;
    }
  }
  if (vi > 0) {
    const Vma& pr = p.vmas[vi - 1];
    if (pr.anon_vma && !pr.anon_vma_cloned && compatible(pr, v)) {
      v.anon_vma = pr.anon_vma;
      return;
    }
  }
  v.anon_vma = st_.next_anon_vma++;
}

}  // namespace mmdiff
