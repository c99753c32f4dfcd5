// Op dispatch and the address-space ops: mmap, munmap, mprotect, fork, exit,
// clear_refs. Kernel references are to docs/CONTRACT.md sections and the
// kernel files they cite ([61] = Debian 6.1.192, [UP] = current upstream).
#include "model/model.h"
#include "model/result_make.h"

#include <algorithm>
#include <cerrno>
#include <csignal>

namespace mmdiff {
bool PredictionAllows(const Prediction& pred, const Result& observed, Grants* used) {
  if (ResultMatches(pred.expected, observed)) {
    if (used) {
      // The latitudes whose bits the kernel's answer took.
      for (const Latitude& l : pred.latitudes)
        if (l.index < observed.pagemap.size() && l.index < pred.expected.pagemap.size() &&
            ((observed.pagemap[l.index] ^ pred.expected.pagemap[l.index]) & l.bits & kPmShownBits))
          used->Add(l.grant);
    }
    return true;
  }
  // The alternative needing the fewest quirks (the contract's latitude first).
  const Alternative* best = nullptr;
  for (const Alternative& alt : pred.alternatives)
    if (ResultMatches(alt.result, observed) && (!best || (best->grants.HasQuirk() && !alt.grants.HasQuirk())))
      best = &alt;
  if (!best) return false;
  if (used) used->Add(best->grants);
  return true;
}

Prediction WithoutQuirks(const Prediction& pred) {
  Prediction out = pred;
  std::erase_if(out.latitudes, [](const Latitude& l) { return l.grant.quirk; });
  std::erase_if(out.alternatives, [](const Alternative& a) { return a.grants.HasQuirk(); });
  if (!out.expected.either.empty()) {
    out.expected.either.assign(out.expected.pagemap.size(), 0);
    for (const Latitude& l : out.latitudes) out.expected.either[l.index] |= l.bits;
    bool any = false;
    for (uint64_t e : out.expected.either) any |= e != 0;
    if (!any) out.expected.either.clear();
  }
  return out;
}

Model::Model(KernelProfile profile) : profile_(std::move(profile)) {
  st_.legacy_anon_vma_merge = !profile_.Has(kBehAnonVmaMergeEitherSide);
}

Prediction Model::Predict(const Op& op, size_t index) const {
  Prediction pred;
  Step s{op, index, /*apply=*/false, nullptr, &pred};
  // A dry run (apply=false) never writes the state: every mutation in the
  // Do* functions is guarded by s.apply.
  pred.expected = const_cast<Model*>(this)->Exec(s);
  if (!pred.latitudes.empty()) {
    pred.expected.either.assign(pred.expected.pagemap.size(), 0);
    for (const Latitude& l : pred.latitudes) pred.expected.either[l.index] |= l.bits;
  }
  return pred;
}

void Model::Apply(const Op& op, size_t index, const Result& observed) {
  Prediction scratch;
  Step s{op, index, /*apply=*/true, &observed, &scratch};
  Exec(s);
}

Result Model::Exec(Step& s) {
  switch (s.op.kind) {
    case OpKind::kRequires: return Ok();
    case OpKind::kMmap: return DoMmap(s);
    case OpKind::kMunmap: return DoMunmap(s);
    case OpKind::kMprotect: return DoMprotect(s);
    case OpKind::kMremap: return DoMremap(s);
    case OpKind::kMadvise: return DoMadvise(s);
    case OpKind::kRead: return DoAccess(s, /*write=*/false);
    case OpKind::kWrite: return DoAccess(s, /*write=*/true);
    case OpKind::kFork: return DoFork(s);
    case OpKind::kExit: return DoExit(s);
    case OpKind::kClearRefs: return DoClearRefs(s);
    case OpKind::kMemfd: return DoFileCreate(s);
    case OpKind::kFile: return DoFileCreate(s);
    case OpKind::kFtruncate: return DoFtruncate(s);
    case OpKind::kFwrite: return DoFwrite(s);
    case OpKind::kFpunch: return DoFpunch(s);
    case OpKind::kUffdOpen: return DoUffdOpen(s);
    case OpKind::kUffdRegister: return DoUffdRegister(s, /*reg=*/true);
    case OpKind::kUffdUnregister: return DoUffdRegister(s, /*reg=*/false);
    case OpKind::kUffdWp: return DoUffdWp(s);
    case OpKind::kPagemap: return DoPagemap(s);
    case OpKind::kScan: return DoScan(s);
  }
  return Err(ENOSYS);  // unreachable: the switch covers every OpKind
}

// --- mmap ---------------------------------------------------------------

Result Model::DoMmap(Step& s) {
  const Op& op = s.op;
  Process& p = st_.procs[op.proc];
  // mm/mmap.c ksys_mmap_pgoff(): the fd is looked up first (EBADF), and a
  // MAP_HUGETLB of a file that is not hugetlbfs refused (EINVAL), before
  // do_mmap() checks the length (EINVAL for 0).
  if (op.backing != Backing::kAnon && p.fds[op.file] < 0) return Err(EBADF);
  if ((op.flags & kFlagHugetlb) && op.backing != Backing::kAnon) return Err(EINVAL);
  if (op.npages == 0) return Err(EINVAL);
  if (op.flags & kFlagHugetlb) {
    // ksys_mmap_pgoff(): MAP_HUGETLB on a file that is not hugetlbfs → EINVAL.
    // The anonymous hugetlb file is set up VM_NORESERVE; then do_mmap():
    // get_unmapped_area() → hugetlb_get_unmapped_area() / prepare_hugepage_range()
    // refuses an unaligned fixed address (EINVAL), MAP_FIXED_NOREPLACE an
    // overlap (EEXIST), and only hugetlbfs_file_mmap() → hugetlb_reserve_pages()
    // fails for want of huge pages (ENOMEM).
    if (op.page % kPagesPerPmd) return Err(EINVAL);  // mm/hugetlb.c hugetlb_get_unmapped_area()
    uint32_t hlo = op.page, hhi = op.page + (op.npages + kPagesPerPmd - 1) / kPagesPerPmd * kPagesPerPmd;
    if (!(op.flags & kFlagFixed)) {
      size_t i = st_.FirstVmaEnding(p, hlo);
      if (i < p.vmas.size() && p.vmas[i].start < hhi) return Err(EEXIST);
    }
    uint64_t need = (op.npages + kPagesPerPmd - 1) / kPagesPerPmd;
    if (!(op.flags & kFlagNoreserve) && profile_.hugetlb_free < need) {
      // MAP_FIXED: whether the old mapping survives the failure depends on
      // the kernel's mmap_region() (unmap first on 6.1, restored later).
      if (op.flags & kFlagFixed) s.pred->unmodelled = "failing fixed hugetlb mmap";
      return Err(ENOMEM);
    }
    s.pred->unmodelled = "hugetlb mappings";
    return Ok();
  }
  int32_t obj = op.backing != Backing::kAnon ? p.fds[op.file] : -1;  // looked up above
  uint32_t lo = op.page, hi = op.page + op.npages;
  if (!(op.flags & kFlagFixed)) {
    // MAP_FIXED_NOREPLACE: any overlap → EEXIST (do_mmap()).
    size_t i = st_.FirstVmaEnding(p, lo);
    if (i < p.vmas.size() && p.vmas[i].start < hi) return Err(EEXIST);
  }
  if ((op.flags & kFlagPopulate) && op.backing == Backing::kAnon && !op.shared && op.prot != Prot::kNone) {
    Vma probe;
    probe.start = lo;
    probe.end = hi;
    uint32_t first = (lo + kPagesPerPmd - 1) / kPagesPerPmd * kPagesPerPmd;
    if (first < hi && ThpPossible(probe, first)) s.pred->unmodelled = "populate of a THP-eligible range";
  }
  if ((op.flags & kFlagFixed) && NobodyReads(op.proc, lo, hi, kUffdEventUnmap))
    s.pred->unmodelled = "a uffd event nobody reads";
  // mmap_region(): accountable_mapping() (private, writable, no
  // MAP_NORESERVE) charges the whole length before the VMA exists.
  bool writable = op.prot == Prot::kRW || op.prot == Prot::kRWX;
  if (!op.shared && writable && !(op.flags & kFlagNoreserve) && CommitRefused(op.npages)) {
    // MAP_FIXED: whether the old mapping survives the failure depends on the
    // kernel (6.1 unmapped it first; later kernels restore it).
    if (op.flags & kFlagFixed) s.pred->unmodelled = "failing fixed mmap";
    return Err(ENOMEM);
  }
  if (!s.apply) return Ok();

  if (op.flags & kFlagFixed) {
    // MAP_FIXED replaces: the old range is unmapped first (markers dropped).
    st_.SplitAt(p, lo);
    st_.SplitAt(p, hi);
    ZapRange(op.proc, lo, hi, Zap::kUnmap);
    std::erase_if(p.vmas, [&](const Vma& v) { return v.start >= lo && v.end <= hi; });
    // The old VMAs' page tables go before the new VMA is in place
    // (free_pgtables() between the neighbours: mmap_region() unmaps first).
    st_.FreeEmptyPt(p, lo, hi);
  }
  Vma v;
  v.start = lo;
  v.end = hi;
  v.prot = op.prot;
  v.shared = op.shared;
  v.noreserve = op.flags & kFlagNoreserve;
  if (op.backing == Backing::kAnon) {
    if (op.shared) {
      // shmem_zero_setup(): a fresh unnamed shmem file of the mapping's size.
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
    v.pgoff = op.file_pgoff;
  }
  // accountable_mapping(): private writable mappings without MAP_NORESERVE.
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
    // populate_vma_page_range(): write faults for private writable mappings,
    // read faults otherwise; nothing for PROT_NONE; errors are ignored and stop
    // the walk ([61] mm/gup.c:1587-1594).
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
  if (op.npages == 0) return Err(EINVAL);  // mm/vma.c do_vmi_munmap(): end == start
  if (NobodyReads(op.proc, op.page, op.page + op.npages, kUffdEventUnmap))
    s.pred->unmodelled = "a uffd event nobody reads";
  if (!s.apply) return Ok();
  Process& p = st_.procs[op.proc];
  uint32_t lo = op.page, hi = op.page + op.npages;
  st_.SplitAt(p, lo);
  st_.SplitAt(p, hi);
  ZapRange(op.proc, lo, hi, Zap::kUnmap);
  std::erase_if(p.vmas, [&](const Vma& v) { return v.start >= lo && v.end <= hi; });
  st_.FreeEmptyPt(p, lo, hi);
  return Ok();
}

Model::Variant Model::ZapOne(const Vma* v, const Variant& pte, Zap how) {
  if (!pte || how == Zap::kUnmap) return std::nullopt;  // unmap_vmas(): ZAP_FLAG_DROP_MARKER
  switch (pte->kind) {
    case PteKind::kGuard:
      return pte;  // guard markers survive zapping (docs/CONTRACT.md §5.5)
    case PteKind::kUffdMarker:
      // Anonymous VMAs drop markers on zap; file/shmem VMAs keep them.
      if (!v || v->IsAnonymous()) return std::nullopt;
      return pte;
    case PteKind::kPresent:
    case PteKind::kSwap:
      // zap_install_uffd_wp_if_needed() / pte_install_uffd_wp_if_needed():
      // a uffd-wp'd PTE of a non-anonymous uffd-wp VMA leaves a marker
      // ([61] mm/memory.c:1374-1397, include/linux/mm_inline.h:557-584).
      if (v && !v->IsAnonymous() && v->UffdWp() && pte->uffd_wp)
        return Pte{PteKind::kUffdMarker, false, true, kZeroPage};
      return std::nullopt;
  }
  return std::nullopt;
}

void Model::ZapRange(int proc, uint32_t lo, uint32_t hi, Zap how) {
  Process& p = st_.procs[proc];
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
  // A huge zero PMD is zapped whole (zap_huge_pmd(): the PMD is cleared, no
  // PTE table is left) or split into a PTE table first (zap_pmd_range()).
  if (lo < hi)
    for (uint32_t slot = MmState::Slot(lo); slot <= MmState::Slot(hi - 1); slot++) {
      if (!p.huge_zero.Find(slot)) continue;
      p.huge_zero.Erase(slot);
      if (lo <= slot * kPagesPerPmd && (slot + 1) * kPagesPerPmd <= hi) p.pt.Erase(slot);
    }
}

// --- mprotect -------------------------------------------------------------

Result Model::DoMprotect(Step& s) {
  const Op& op = s.op;
  Process& p = st_.procs[op.proc];
  if (op.npages == 0) return Ok();
  uint32_t lo = op.page, hi = op.page + op.npages;
  // do_mprotect_pkey(): VMAs are changed in address order; a hole stops the
  // walk with ENOMEM after the earlier VMAs were already changed.
  int err = 0;
  uint32_t addr = lo;
  uint32_t changed_lo = UINT32_MAX, changed_hi = 0;
  while (addr < hi) {
    int vi = st_.VmaAt(p, addr);
    if (vi < 0) {
      err = ENOMEM;
      break;
    }
    uint32_t vend = std::min(hi, p.vmas[vi].end);
    // mprotect_fixup(): nothing to do (no split) when the flags stay.
    bool same = p.vmas[vi].prot == op.prot;
    // mprotect_fixup(): making a private, never-writable, unaccounted VMA
    // writable charges it; a refused charge stops the walk (ENOMEM).
    const Vma& cur = p.vmas[vi];
    bool to_writable = op.prot == Prot::kRW || op.prot == Prot::kRWX;
    if (!same && to_writable && !cur.Writable() && !cur.account && !cur.shared && !cur.noreserve &&
        CommitRefused(vend - addr)) {
      err = ENOMEM;
      break;
    }
    if (s.apply && !same) {
      changed_lo = std::min(changed_lo, addr);
      changed_hi = std::max(changed_hi, vend);
      st_.SplitAt(p, addr);
      st_.SplitAt(p, vend);
      Vma& v = p.vmas[st_.VmaAt(p, addr)];
      v.prot = op.prot;
      // mprotect_fixup(): making a private mapping writable charges it (VM_ACCOUNT);
      // making it read-only again does not uncharge — except, on current
      // kernels, an anonymous VMA that never faulted (no anon_vma: "mm/mprotect:
      // allow unfaulted VMAs to be unaccounted on mprotect()", 6.6; [EMP]
      // 6.18: it then no longer merges with a charged neighbour).
      if (!v.shared && v.Writable() && !v.noreserve) v.account = true;
      else if (!v.Writable() && profile_.Has(kBehMprotectUnaccountsUnfaulted) && v.IsAnonymous() && !v.anon_vma)
        v.account = false;
      // change_protection() with vm_page_prot: a PTE the quirk
      // softdirty_lost_on_uffd_wp_resolve left writable is write-notified again
      // (can_change_pte_writable() wants soft-dirty set to upgrade it).
      for (auto it = p.ptes.LowerBound(addr); it != p.ptes.end() && it->first < vend; ++it)
        if (!it->second.soft_dirty) it->second.sd_silent = false;
      for (auto it = p.doubts.LowerBound(addr); it != p.doubts.end() && it->first < vend; ++it)
        if (!it->second.alt.soft_dirty) it->second.alt.sd_silent = false;
      // PTE soft-dirty and uffd-wp bits are kept (_PAGE_CHG_MASK, §4.2, §5.6).
    }
    addr = vend;
  }
  if (s.apply && changed_lo < changed_hi) {
    // mprotect_fixup() ([61] mm/mprotect.c:605-633): a merged VMA gets the
    // flags of the VMA mprotect changed, dropping a neighbour's
    // VM_SOFTDIRTY. The contract (sticky VM_SOFTDIRTY, docs/CONTRACT.md §4.3)
    // keeps it; kernels with the quirk may not.
    MergeChanged(p, changed_lo, changed_hi);
  }
  return err ? Err(err) : Ok();
}

void Model::MergeChanged(Process& p, uint32_t lo, uint32_t hi, Keeper keeper, uint32_t not_at,
                         uint32_t not_at2) {
  if (!profile_.quirks.Has(Quirk::kSoftdirtyLostOnMerge)) {
    st_.MergeAround(p, lo, hi, not_at, not_at2);
    return;
  }
  std::vector<Vma> before = p.vmas;
  st_.MergeAround(p, lo, hi, not_at, not_at2);
  if (keeper != Keeper::kOutside)
    MarkSoftDirtyLoss(p, before, lo, hi, /*keeper_inside=*/true, Quirk::kSoftdirtyLostOnMerge);
  if (keeper != Keeper::kInside)
    MarkSoftDirtyLoss(p, before, lo, hi, /*keeper_inside=*/false, Quirk::kSoftdirtyLostOnMerge);
}

void Model::MarkSoftDirtyLoss(Process& p, const std::vector<Vma>& before, uint32_t lo, uint32_t hi,
                              bool keeper_inside, Quirk q) {
  // For each VMA that the merge made out of several: soft-dirty, but none of
  // the parts whose flags the kernel keeps (inside [lo, hi) or outside it) was
  // → the kernel may report it clean.
  for (Vma& v : p.vmas) {
    if (!v.soft_dirty || v.end <= lo || v.start >= hi) continue;
    bool merged = true;
    bool keeper_sd = false;
    for (const Vma& b : before) {
      if (b.start == v.start && b.end == v.end) merged = false;
      if (b.end <= v.start || b.start >= v.end) continue;
      bool inside = b.start < hi && b.end > lo;
      if (inside == keeper_inside && b.soft_dirty && !b.sd_lost_quirk) keeper_sd = true;
    }
    if (merged && !keeper_sd) v.sd_lost_quirk = static_cast<uint8_t>(static_cast<int>(q) + 1);
  }
}

// --- fork -----------------------------------------------------------------

Result Model::DoFork(Step& s) {
  const Op& op = s.op;
  int child = static_cast<int>(st_.procs.size());
  if (child >= kMaxProcs) return Err(EAGAIN);  // the executor's process table (prog/op.h kMaxProcs)
  if (NobodyReads(op.proc, 0, kArenaPages, kUffdEventFork)) s.pred->unmodelled = "a uffd event nobody reads";
  {
    // Several EVENT_FORK contexts with registrations: the child gets one
    // context each, and which one its ioctls use is whichever FORK message
    // the executor's handler read last (uffd_holder_fd): not deterministic.
    const Process& p = st_.procs[op.proc];
    std::vector<int32_t> ctxs;
    for (const Vma& v : p.vmas)
      if (!v.dontfork && v.uffd >= 0 && (st_.uffds[v.uffd].features & kUffdEventFork) &&
          std::find(ctxs.begin(), ctxs.end(), v.uffd) == ctxs.end())
        ctxs.push_back(v.uffd);
    if (ctxs.size() > 1) s.pred->unmodelled = "fork with several EVENT_FORK contexts";
  }
  if (!s.apply) {
    // vma_needs_copy(): a copied VMA with a doubtful PTE is not modelled.
    const Process& p = st_.procs[op.proc];
    for (const Vma& v : p.vmas) {
      if (v.dontfork || v.wipeonfork) continue;
      bool keeps_uffd = v.uffd >= 0 && (st_.uffds[v.uffd].features & kUffdEventFork) && v.UffdWp();
      if (!v.anon_vma && !keeps_uffd && !v.maybe_guard) continue;
      auto d = p.doubts.LowerBound(v.start);
      if (d != p.doubts.end() && d->first < v.end) s.pred->unmodelled = "fork copying a PTE the model cannot pin down";
    }
    return Value(child);
  }
  st_.procs.emplace_back();
  Process& c = st_.procs[child];
  Process& p = st_.procs[op.proc];  // after emplace_back: references are stable now
  c.alive = true;
  c.fds = p.fds;
  // The executor's child closes the uffds it inherits (they name the
  // parent's contexts); its uffd ops use the context EVENT_FORK made for it,
  // if any (set below).
  c.uffd = -1;
  c.older_uffds.clear();
  c.handler_uffds.clear();
  c.uffd_unborrowed = false;
  // dup_userfaultfd() ([61] fs/userfaultfd.c:680-738): with EVENT_FORK the
  // child's VMAs move to a new context (one per parent context); without it
  // they lose the registration before the page tables are copied.
  std::vector<std::pair<int32_t, int32_t>> ctx_map;
  auto child_ctx = [&](int32_t parent_ctx) {
    for (auto& [from, to] : ctx_map)
      if (from == parent_ctx) return to;
    UffdCtx nc = st_.uffds[parent_ctx];
    nc.owner = child;
    nc.handler = st_.uffds[parent_ctx].handler;  // the FORK event's reader adopts it
    nc.refs = 1;  // held by the parent's event reader
    int32_t id = static_cast<int32_t>(st_.uffds.size());
    st_.uffds.push_back(nc);
    // The FORK message goes to the parent context's reader, whose handler
    // adopts the child's fd (executor uffd_handler.cc Drain()).
    st_.procs[nc.handler].handler_uffds.push_back(id);
    ctx_map.push_back({parent_ctx, id});
    return id;
  };
  for (const Vma& v : p.vmas) {
    if (v.dontfork) continue;  // VM_DONTCOPY ([61] kernel/fork.c:632)
    Vma cv = v;
    if (v.uffd >= 0 && (st_.uffds[v.uffd].features & kUffdEventFork)) {
      cv.uffd = child_ctx(v.uffd);
    } else {
      cv.uffd = -1;
      cv.uffd_modes = 0;
    }
    if (v.anon_vma) {
      // anon_vma_fork(): the child VMA gets its own anon_vma chained to the parent's.
      cv.anon_vma = st_.next_anon_vma++;
      cv.anon_vma_cloned = true;
    }
    if (v.wipeonfork) {
      // VM_WIPEONFORK: an empty VMA without anon_vma ([61] kernel/fork.c:667-673).
      cv.anon_vma = 0;
      cv.anon_vma_cloned = false;
    }
    c.vmas.push_back(cv);
    // vma_needs_copy() ([61] mm/memory.c:1251-1275; [UP] VM_COPY_ON_FORK):
    // page tables are copied only for uffd-wp child VMAs, VMAs with an
    // anon_vma, and VMAs that may hold guard markers (VM_MAYBE_GUARD), of
    // any kind.
    bool copy = !v.wipeonfork && (cv.UffdWp() || v.anon_vma != 0 || v.maybe_guard);
    if (!copy) continue;
    for (auto it = p.huge_zero.LowerBound(MmState::Slot(v.start));
         it != p.huge_zero.end() && it->first * kPagesPerPmd < v.end; ++it)
      c.huge_zero[it->first] = true;  // copy_huge_pmd(): the huge zero PMD is shared
    for (auto it = p.ptes.LowerBound(v.start); it != p.ptes.end() && it->first < v.end; ++it) {
      Pte pte = it->second;
      switch (pte.kind) {
        case PteKind::kPresent:
        case PteKind::kSwap:
          // copy_present_pte()/copy_nonpresent_pte(): SD kept as is, uffd-wp
          // only if the child VMA is uffd-wp.
          pte.uffd_wp = pte.uffd_wp && cv.UffdWp() && profile_.mutant != Mutant::kForkDropsUffdWp;
          break;
        case PteKind::kUffdMarker:
          if (!cv.UffdWp()) continue;  // [61] mm/memory.c:887-890
          break;
        case PteKind::kGuard:
          // Always copied, as a fresh marker (copy_pte_marker()): a uffd-wp
          // bit WP_MATCHING set on it is not.
          pte.uffd_wp = false;
          break;
      }
      st_.SetPte(c, it->first, pte);
    }
    // The child gets a PTE table wherever the parent had one in this VMA
    // (copy_pmd_range() walks the parent's non-none PMDs).
    for (uint32_t slot = MmState::Slot(v.start); slot <= MmState::Slot(v.end - 1); slot++) {
      const PtState* ps = p.pt.Find(slot);
      if (ps && !c.pt.Find(slot)) c.pt[slot] = *ps;
    }
  }
  // The executor gives the child the context of the FORK message its handler
  // read (uffd_holder_fd), whichever parent context it came from; it is
  // borrowed from that handler (pidfd_getfd()) at the child's first ioctl.
  if (!ctx_map.empty()) {
    c.uffd = ctx_map.back().second;
    c.uffd_unborrowed = true;
  }
  return Value(child);
}

// --- exit -----------------------------------------------------------------

Result Model::DoExit(Step& s) {
  if (!s.apply) return Ok();
  int proc = s.op.proc;
  Process& p = st_.procs[proc];
  ZapRange(proc, 0, kArenaPages, Zap::kUnmap);
  p.vmas.clear();
  p.pt.clear();
  p.doubts.clear();
  p.huge_zero.clear();
  for (int f = 0; f < kMaxFiles; f++) CloseFd(proc, f);
  std::vector<int32_t> held = p.older_uffds;
  if (p.uffd >= 0 && !p.uffd_unborrowed) held.push_back(p.uffd);
  for (int32_t ctx : p.handler_uffds) held.push_back(ctx);
  p.uffd = -1;
  p.uffd_unborrowed = false;
  p.older_uffds.clear();
  p.handler_uffds.clear();
  for (int32_t ctx : held)
    if (--st_.uffds[ctx].refs == 0) ReleaseUffd(ctx);
  p.alive = false;
  return Ok();
}

void Model::CloseFd(int proc, int slot) { st_.procs[proc].fds[slot] = -1; }

// --- clear_refs -------------------------------------------------------------

Result Model::DoClearRefs(Step& s) {
  // clear_refs_write() ([61] fs/proc/task_mmu.c:1066-1325): types 1-3 and 5
  // have no pagemap-visible effect; 4 clears soft-dirty when the kernel has
  // it and is a silent no-op otherwise (docs/CONTRACT.md §4.1).
  if (!s.apply || s.op.value != 4 || !profile_.soft_dirty) return Ok();
  if (profile_.mutant == Mutant::kClearRefsKeepsSoftDirty) return Ok();
  Process& p = st_.procs[s.op.proc];
  for (Vma& v : p.vmas) {
    v.soft_dirty = false;
    v.sd_lost_quirk = 0;
  }
  // clear_soft_dirty(): pte_wrprotect() + pte_clear_soft_dirty() (a PTE
  // the quirk left writable is write-protected again).
  for (auto& [page, pte] : p.ptes) {
    pte.soft_dirty = false;
    pte.sd_silent = false;
  }
  for (auto& [page, d] : p.doubts) {
    d.alt.soft_dirty = false;
    d.alt.sd_silent = false;
  }
  return Ok();
}

// --- userfaultfd events without a reader ------------------------------------

bool Model::NobodyReads(int proc, uint32_t lo, uint32_t hi, uint32_t event_features) const {
  // The executor answers userfaults and reads events on the handler thread of
  // the context's reader; when that process has exited, the faulting or
  // notifying thread waits forever (handle_userfault(),
  // userfaultfd_event_wait_completion()): the program would hang.
  const Process& p = st_.procs[proc];
  for (size_t i = st_.FirstVmaEnding(p, lo); i < p.vmas.size() && p.vmas[i].start < hi; i++) {
    const Vma& v = p.vmas[i];
    if (v.uffd < 0) continue;
    const UffdCtx& c = st_.uffds[v.uffd];
    if (event_features && !(c.features & event_features)) continue;
    if (!st_.procs[c.handler].alive) return true;
  }
  return false;
}

// --- anon_vma ---------------------------------------------------------------

void Model::EnsureAnonVma(Process& p, size_t vi) {
  Vma& v = p.vmas[vi];
  if (v.anon_vma) return;
  // find_mergeable_anon_vma(): reuse a neighbour's anon_vma when the two VMAs
  // could merge but for their protections, and the neighbour's anon_vma chain
  // is singular (mm/mmap.c anon_vma_compatible(), reusable_anon_vma()).
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
