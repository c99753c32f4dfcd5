// fork() and exit(): kernel/fork.c dup_mmap(), the page-table copy of
// mm/memory.c copy_page_range(), and mm/mmap.c exit_mmap() ([61] = Debian
// 6.1.192, [UP] = current upstream).
#include <algorithm>
#include <cerrno>

#include "model/model.h"
#include "model/result_make.h"

namespace mmdiff {

// --- fork -----------------------------------------------------------------

// kernel/fork.c copy_process() → dup_mm() → dup_mmap(): the child's VMAs,
// and mm/memory.c copy_page_range() for its page tables.
Result Model::DoFork(Step& s) {
  const Op& op = s.op;
  int child = static_cast<int>(st_.procs.size());
  // Not a kernel rule: the executor's process table is full (prog/op.h
  // kMaxProcs); kernel/fork.c copy_process() would give EAGAIN for RLIMIT_NPROC.
  if (child >= kMaxProcs) return Err(EAGAIN);
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
  {
    // mm/memory.c vma_needs_copy(): a copied VMA with a doubtful PTE is not modelled.
    const Process& p = st_.procs[op.proc];
    for (const Vma& v : p.vmas) {
      if (v.dontfork || v.wipeonfork) continue;
      bool keeps_uffd = v.uffd >= 0 && (st_.uffds[v.uffd].features & kUffdEventFork) && v.UffdWp();
      if (!v.anon_vma && !keeps_uffd && !v.maybe_guard) continue;
      auto d = p.doubts.LowerBound(v.start);
      if (d != p.doubts.end() && d->first < v.end) s.pred->unmodelled = "fork copying a PTE the model cannot pin down";
    }
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
  // fs/userfaultfd.c dup_userfaultfd() ([61] fs/userfaultfd.c:680-738): with EVENT_FORK the
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
    if (v.dontfork) continue;  // kernel/fork.c dup_mmap(): VM_DONTCOPY ([61] kernel/fork.c:632)
    Vma cv = v;
    if (v.uffd >= 0 && (st_.uffds[v.uffd].features & kUffdEventFork)) {
      cv.uffd = child_ctx(v.uffd);
    } else {
      cv.uffd = -1;
      cv.uffd_modes = 0;
    }
    if (v.anon_vma) {
      // mm/rmap.c anon_vma_fork(): the child VMA gets its own anon_vma chained
      // to the parent's.
      cv.anon_vma = st_.next_anon_vma++;
      cv.anon_vma_cloned = true;
    }
    if (v.wipeonfork) {
      // kernel/fork.c dup_mmap(): VM_WIPEONFORK, an empty VMA without anon_vma
      // ([61] kernel/fork.c:667-673).
      cv.anon_vma = 0;
      cv.anon_vma_cloned = false;
    }
    c.vmas.push_back(cv);
    if (v.kind == MemKind::kHugetlb) {
      CopyHugetlbRange(op.proc, child, v);  // model/hugetlb.cc
      continue;
    }
    // mm/memory.c vma_needs_copy() ([61] mm/memory.c:1251-1275; [UP] VM_COPY_ON_FORK):
    // page tables are copied only for uffd-wp child VMAs, VMAs with an
    // anon_vma, and VMAs that may hold guard markers (VM_MAYBE_GUARD), of
    // any kind.
    bool copy = !v.wipeonfork && (cv.UffdWp() || v.anon_vma != 0 || v.maybe_guard);
    if (!copy) continue;
    for (auto it = p.huge_zero.LowerBound(MmState::Slot(v.start));
         it != p.huge_zero.end() && it->first * kPagesPerPmd < v.end; ++it)
      c.huge_zero[it->first] = true;  // mm/huge_memory.c copy_huge_pmd(): the huge zero PMD is shared
    // copy_huge_pmd(): an anonymous THP PMD is shared with the child, both
    // write-protected, its bits as copy_present_pte() keeps them (below).
    for (auto it = p.thp.LowerBound(MmState::Slot(v.start)); it != p.thp.end() && it->first * kPagesPerPmd < v.end; ++it)
      c.thp[it->first] = it->second;
    for (auto it = p.ptes.LowerBound(v.start); it != p.ptes.end() && it->first < v.end; ++it) {
      Pte pte = it->second;
      bool may_lose_sd = false;
      switch (pte.kind) {
        case PteKind::kPresent:
        case PteKind::kSwap:
          // mm/memory.c copy_present_pte()/copy_nonpresent_pte(): SD kept as is, uffd-wp
          // only if the child VMA is uffd-wp.
          pte.uffd_wp = pte.uffd_wp && cv.UffdWp() && profile_.mutant != Mutant::kForkDropsUffdWp;
          break;
        case PteKind::kUffdMarker:
          if (!cv.UffdWp()) continue;  // [61] mm/memory.c:887-890
          // [612] mm/memory.c:888-893 copy_nonpresent_pte() installs a fresh
          // marker: a soft-dirty bit on it may be gone (quirk
          // softdirty_lost_on_fork_marker); 6.1 copies the entry as is.
          may_lose_sd = pte.soft_dirty && profile_.quirks.Has(Quirk::kSoftdirtyLostOnForkMarker);
          break;
        case PteKind::kGuard:
          // Always copied, as a fresh marker (mm/memory.c copy_pte_marker()): a uffd-wp
          // bit WP_MATCHING set on it is not.
          pte.uffd_wp = false;
          break;
      }
      st_.SetPte(c, it->first, pte);
      if (may_lose_sd) {
        Pte fresh = pte;
        fresh.soft_dirty = false;
        SetDoubt(child, it->first, fresh, Grant::Of(Quirk::kSoftdirtyLostOnForkMarker));
      }
    }
    // The child gets a PTE table wherever the parent had one in this VMA
    // (mm/memory.c copy_pmd_range() walks the parent's non-none PMDs).
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
  // mm/mmap.c exit_mmap(): every VMA unmapped, markers dropped, every page
  // table freed; kernel/exit.c do_exit() → exit_files() closes the fds, and
  // with them the uffds the process held (fs/userfaultfd.c
  // userfaultfd_release() at the last reference).
  int proc = s.op.proc;
  Process& p = st_.procs[proc];
  ZapRange(proc, 0, kArenaPages, Zap::kUnmap);
  p.vmas.clear();
  HugetlbReleased(proc);  // model/hugetlb.cc
  p.pt.clear();
  p.doubts.clear();
  p.huge_zero.clear();
  p.thp.clear();
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

}  // namespace mmdiff
