// mremap(): shrink, grow in place, move (MAYMOVE|FIXED), DONTUNMAP
// ([61] mm/mremap.c; docs/CONTRACT.md §4.3, §4.4, §5.6).
#include <algorithm>
#include <cerrno>
#include <map>

#include "model/model.h"
#include "model/result_make.h"

namespace mmdiff {
Result Model::DoMremap(Step& s) {
  const Op& op = s.op;
  Process& p = st_.procs[op.proc];
  bool move = op.flags & kFlagMove;
  bool dontunmap = op.flags & kFlagDontunmap;
  uint32_t addr = op.page, old_len = op.npages, new_len = op.new_npages;
  // mm/mremap.c SYSCALL_DEFINE5(mremap) (6.1, 6.12; check_mremap_params() on
  // current kernels): flag and length checks.
  if (dontunmap && !move) return Err(EINVAL);               // mm/mremap.c SYSCALL_DEFINE5(mremap)
  if (dontunmap && old_len != new_len) return Err(EINVAL);  // mm/mremap.c SYSCALL_DEFINE5(mremap)
  if (new_len == 0) return Err(EINVAL);                     // mm/mremap.c SYSCALL_DEFINE5(mremap)
  if (old_len == 0) {
    // mm/mremap.c vma_to_resize(): old_len 0 of a private mapping → EINVAL
    // (of a shared one it duplicates the mapping: not modelled).
    s.pred->unmodelled = "mremap with old_len 0";
    return Err(EINVAL);  // mm/mremap.c vma_to_resize()
  }
  // Current kernels check that a move's ranges do not overlap among the
  // arguments (mm/mremap.c check_mremap_params(), [EMP] 6.18: EINVAL without
  // a VMA); 6.1 and 6.12 do it in mm/mremap.c mremap_to(), after the lookup.
  if (move && profile_.Has(kBehMremapOverlapCheckedFirst) && addr + old_len > op.new_page && op.new_page + new_len > addr)
    return Err(EINVAL);  // mm/mremap.c check_mremap_params() (6.17+)
  if (NobodyReads(op.proc, addr, addr + old_len, kUffdEventRemap | kUffdEventUnmap) ||
      (move && NobodyReads(op.proc, op.new_page, op.new_page + new_len, kUffdEventUnmap)))
    s.pred->unmodelled = "a uffd event nobody reads";
  // mm/mremap.c do_mremap() / 6.1, 6.12 SYSCALL_DEFINE5(mremap):
  // vma_lookup(addr) right after the argument checks, before any shrink, move
  // or unmap → EFAULT.
  if (st_.VmaAt(p, addr) < 0) return Err(EFAULT);
  if (TouchesHugeZero(p, addr, addr + std::max(old_len, new_len)) ||
      (move && TouchesHugeZero(p, op.new_page, op.new_page + new_len)))
    s.pred->unmodelled = "mremap of a huge zero page";

  if (!move) {
    if (old_len >= new_len) {
      // mm/mremap.c SYSCALL_DEFINE5(mremap): "Always allow a shrinking remap":
      // munmap the tail; equal lengths are a no-op.
      if (old_len > new_len) UnmapRange(op.proc, addr + new_len, addr + old_len);
      return Ok();
    }
    // mm/mremap.c vma_to_resize() (current kernels: resize_is_valid()): the
    // old range must lie in one VMA.
    int vi = st_.VmaAt(p, addr);
    if (vi < 0 || addr + old_len > p.vmas[vi].end) return Err(EFAULT);  // mm/mremap.c vma_to_resize()
    const Vma& v = p.vmas[vi];
    // mm/mremap.c SYSCALL_DEFINE5(mremap): grow in place only if the range ends
    // the VMA and the space after it is free (vma_expandable()); else, without
    // MAYMOVE, ENOMEM.
    if (addr + old_len != v.end) return Err(ENOMEM);  // mm/mremap.c SYSCALL_DEFINE5(mremap)
    size_t next = vi + 1;
    // mm/mremap.c vma_expandable(): the next VMA, or the end of the arena
    // (the model's address space), is in the way.
    if (next < p.vmas.size() && p.vmas[next].start < addr + new_len) return Err(ENOMEM);
    if (addr + new_len > kArenaPages) return Err(ENOMEM);  // mm/mremap.c vma_expandable()
    // vma_adjust()/vma_expand(): VM_SOFTDIRTY is NOT set on the new tail (§4.3).
    // Kernels with the behaviour then merge the grown VMA with the next one
    // it now touches (mm/vma.c vma_merge_extend(): vma_merge_new_range() of
    // the added tail, with the grown VMA as prev) — never with the VMA before
    // it, which the tail does not touch; vma_expand() keeps the grown VMA's
    // flags.
    p.vmas[vi].end = addr + new_len;
    if (profile_.Has(kBehMremapGrowMergesNext)) MergeChanged(p, addr + old_len, addr + new_len);
    return Ok();
  }

  uint32_t new_addr = op.new_page;
  // mm/mremap.c mremap_to() (6.1, 6.12): the ranges must not overlap.
  if (addr + old_len > new_addr && new_addr + new_len > addr) return Err(EINVAL);
  if (profile_.Has(kBehMremapMovesManyVmas) && old_len == new_len) {
    // mm/mremap.c remap_move() (6.17+, "mm/mremap: permit mremap() move of multiple
    // VMAs"): a fixed move without resize moves every VMA in [addr, +len),
    // each piece to the same offset, gaps kept (a gap at the start: EFAULT;
    // later ones and one at the end are skipped). A uffd-armed VMA
    // (vma_multi_allowed()) may only be moved alone: as the first of several
    // → EFAULT before anything moved, after others → EFAULT with those moved.
    uint32_t end = addr + old_len, target = new_addr, last_end = 0;
    bool seen = false;
    int err = 0;
    struct Piece {
      uint32_t a, len, dst;
    };
    std::vector<Piece> pieces;
    for (size_t i = st_.FirstVmaEnding(p, addr); i < p.vmas.size() && p.vmas[i].start < end; i++) {
      const Vma& v = p.vmas[i];
      uint32_t offset = seen ? v.start - last_end : 0;
      last_end = v.end;
      uint32_t a = std::max(v.start, addr), len = std::min(end, v.end) - a;
      if (v.uffd >= 0 && (seen || v.end < end)) {
        err = EFAULT;
        break;
      }
      pieces.push_back({a, len, target + offset});
      target = target + offset + len;
      seen = true;
    }
    for (const Piece& pc : pieces) {
      Result r = MoveRange(s, pc.a, pc.len, pc.len, pc.dst);
      if (r.kind == ResultKind::kErr) return r;
    }
    return err ? Err(err) : Ok();  // mm/mremap.c remap_move(): vma_multi_allowed() (6.17+)
  }
  return MoveRange(s, addr, old_len, new_len, new_addr);
}

Result Model::MoveRange(Step& s, uint32_t addr, uint32_t old_len, uint32_t new_len, uint32_t new_addr) {
  const Op& op = s.op;
  Process& p = st_.procs[op.proc];
  bool dontunmap = op.flags & kFlagDontunmap;
  if (profile_.Has(kBehMremapSourceCheckedFirst)) {
    // mm/mremap.c check_prep_vma() before mremap_to(): the range to move
    // (new_len for a shrink) must lie in the VMA → EFAULT before anything is
    // unmapped ([EMP] 6.18; 6.1 and 6.12 check in vma_to_resize(), after the
    // unmaps below).
    int vi = st_.VmaAt(p, addr);
    if (vi < 0 || addr + std::min(old_len, new_len) > p.vmas[vi].end)
      return Err(EFAULT);  // mm/mremap.c check_prep_vma() (6.17+)
  }
  if (int vi = st_.VmaAt(p, addr); vi >= 0 && profile_.quirks.Has(Quirk::kMremapMergeDropsUffdRegistration)) {
    // copy_vma() merges the copy (still carrying the source's uffd context)
    // with a compatible neighbour at the destination — the rest of the
    // source VMA itself (an anonymous VMA without anon_vma gets the linear
    // pgoff of its new address) or another VMA of the same context — and
    // mremap_userfaultfd_prep() then resets the registration of the whole
    // merged VMA: the neighbour unregisters too (quirk
    // mremap_merge_drops_uffd_registration, both kernels). Which VMA keeps
    // which registration is not modelled.
    const Vma& v = p.vmas[vi];
    bool remap_event = v.uffd >= 0 && (st_.uffds[v.uffd].features & kUffdEventRemap);
    if (v.uffd >= 0 && !remap_event) {
      Vma copy = v;
      copy.start = new_addr;
      copy.end = new_addr + new_len;
      copy.pgoff = v.IsAnonymous() && !v.anon_vma ? new_addr : v.FilePage(addr);
      // The neighbours once the destination is unmapped: the page just
      // before it and the page just after it, in whichever VMA holds them —
      // the source VMA (still whole when copy_vma() merges) or the rest of
      // a VMA the destination's unmap splits (found by generated programs:
      // a shrink split the registered VMA, a move to its start merged with
      // the rest). One page of the neighbour is enough: Mergeable() reads
      // its end and pgoff.
      bool merges = false;
      uint32_t after = new_addr + new_len;
      for (const Vma& w : p.vmas) {
        if (new_addr > 0 && w.start < new_addr && new_addr <= w.end) {
          Vma n = w;
          n.start = new_addr - 1, n.end = new_addr, n.pgoff = w.FilePage(n.start);
          merges |= MmState::Mergeable(n, copy);
        }
        if (w.start <= after && after < w.end) {
          Vma n = w;
          n.start = after, n.end = after + 1, n.pgoff = w.FilePage(after);
          merges |= MmState::Mergeable(copy, n);
        }
      }
      if (merges)
        s.pred->unmodelled = "mremap next to a VMA of its uffd context (quirk mremap_merge_drops_uffd_registration)";
    }
  }
  // The destination is unmapped first (MREMAP_FIXED), then a shrinking move
  // unmaps the old tail, and only then is the source checked — so a failing
  // source check leaves those unmaps done.
  UnmapRange(op.proc, new_addr, new_addr + new_len);
  uint32_t move_len = old_len;
  if (old_len > new_len) {
    UnmapRange(op.proc, addr + new_len, addr + old_len);
    move_len = new_len;
  }
  // mm/mremap.c mremap_to() → vma_to_resize() (6.1, 6.12) on the (possibly
  // shrunk) source: not in one VMA → EFAULT. The destination cannot
  // overlap the source (checked above), so the unmaps left it whole.
  int vi = st_.VmaAt(p, addr);
  if (vi < 0 || addr + move_len > p.vmas[vi].end) return Err(EFAULT);  // mm/mremap.c vma_to_resize()

  // move_vma(): split the source to exactly the moved range, copy_vma() to the
  // destination (flags copied, VM_SOFTDIRTY not set), move the PTEs.
  // With DONTUNMAP the old VMA stays whole (nothing unmaps, so nothing
  // splits it: 6.1 move_vma(), current dontunmap_complete()).
  if (!dontunmap) {
    st_.SplitAt(p, addr);
    st_.SplitAt(p, addr + move_len);
  }
  vi = st_.VmaAt(p, addr);
  Vma nv = p.vmas[vi];
  nv.pgoff = p.vmas[vi].FilePage(addr);
  nv.start = new_addr;
  nv.end = new_addr + new_len;
  if (nv.IsAnonymous() && !nv.anon_vma) nv.pgoff = new_addr;  // copy_vma(): fresh anon pgoff
  bool whole_vma = p.vmas[vi].start == addr && p.vmas[vi].end == addr + move_len;
  // mremap_userfaultfd_prep(): without EVENT_REMAP the new VMA is unregistered.
  bool keep_uffd = nv.uffd >= 0 && (st_.uffds[nv.uffd].features & kUffdEventRemap);
  bool uffd_no_remap = nv.uffd >= 0 && !keep_uffd;  // vma_has_uffd_without_event_remap()
  if (!keep_uffd) {
    nv.uffd = -1;
    nv.uffd_modes = 0;
  }
  // move_page_tables(): a THP PMD whose extent is a whole aligned 2 MiB at
  // both ends moves as it is (move_huge_pmd(): move_soft_dirty_pmd(), the
  // uffd-wp bit cleared as move_ptes() does) when the new PMD is empty;
  // otherwise it is split first (split_huge_pmd()) and its PTEs move.
  std::vector<std::pair<uint32_t, bool>> thp_moved;  // source slot, the PMD's dirty bit
  for (uint32_t slot = MmState::Slot(addr); !p.thp.empty() && slot <= MmState::Slot(addr + move_len - 1); slot++) {
    const bool* dirty = p.thp.Find(slot);
    if (!dirty) continue;
    uint32_t s0 = slot * kPagesPerPmd;
    if (s0 >= addr && s0 + kPagesPerPmd <= addr + move_len && new_addr % kPagesPerPmd == addr % kPagesPerPmd &&
        st_.PtAt(p, new_addr + (s0 - addr)) == PtState::kAbsent)
      thp_moved.push_back({slot, *dirty});
    else
      st_.SplitHugePmd(p, slot);
  }
  // Collect the moved PTEs (and their table slots) before changing the table.
  std::vector<std::pair<uint32_t, Pte>> moved;
  for (auto it = p.ptes.LowerBound(addr); it != p.ptes.end() && it->first < addr + move_len; ++it)
    moved.push_back(*it);
  // move_page_tables() walks extents that cross neither an old nor a new PMD
  // boundary; an extent whose old PMD has no table is skipped, otherwise the
  // new PMD gets a table (moved whole or allocated). So a destination slot has
  // a table iff a source slot mapping onto it had one when the walk got
  // there: it walks upwards, and a source slot that an earlier extent's
  // destination shares has a table by then (mm/mremap.c move_page_tables():
  // get_old_pmd() sees the table alloc_new_pmd()/pte_alloc() just made).
  struct PtRun {
    uint32_t lo, hi;
    PtState state;
  };
  std::vector<PtRun> pt_runs;
  std::map<uint32_t, PtState> made;  // destination slots given a table so far
  for (uint32_t pg = addr; pg < addr + move_len;) {
    uint32_t next = std::min((MmState::Slot(pg) + 1) * kPagesPerPmd, addr + move_len);
    auto m = made.find(MmState::Slot(pg));
    PtState ps = st_.PtAt(p, pg);
    if (m != made.end() && (ps == PtState::kAbsent || m->second == PtState::kPresent)) ps = m->second;
    if (ps != PtState::kAbsent) {
      pt_runs.push_back({pg, next, ps});
      uint32_t lo = new_addr + (pg - addr), hi = new_addr + (next - addr);
      for (uint32_t slot = MmState::Slot(lo); slot <= MmState::Slot(hi - 1); slot++)
        if (!made.count(slot) || ps == PtState::kPresent) made[slot] = ps;
    }
    pg = next;
  }
  auto moved_doubts = TakeDoubts(op.proc, addr, addr + move_len);
  // Hold references while the source PTEs go away.
  for (auto& [pg, pte] : moved)
    if (pte.kind == PteKind::kPresent || pte.kind == PteKind::kSwap) st_.Ref(pte.page);
  for (auto& [pg, pte] : moved) st_.ClearPte(p, pg);
  // With DONTUNMAP the old VMA stays, its moved range empty (the rest: after
  // the merge). Otherwise it is unmapped after copy_vma() inserted the new
  // one, so free_pgtables() keeps a table the new VMA shares (its floor and
  // ceiling are the neighbours then: mm/mremap.c move_vma() → do_vmi_munmap()).
  if (!dontunmap) p.vmas.erase(p.vmas.begin() + vi);
  p.vmas.insert(p.vmas.begin() + st_.FirstVmaEnding(p, new_addr), nv);
  if (!dontunmap) st_.FreeEmptyPt(p, addr, addr + move_len);
  // move_normal_pmd(): a whole aligned 2 MiB extent moves its page table
  // itself when the new PMD is empty (and no uffd-wp VMA without EVENT_REMAP
  // refuses it): the source slot is left without a table.
  std::vector<uint32_t> table_moved;
  if (!uffd_no_remap && (new_addr % kPagesPerPmd) == (addr % kPagesPerPmd)) {
    for (const PtRun& r : pt_runs)
      if (r.hi - r.lo == kPagesPerPmd && r.state == PtState::kPresent &&
          st_.PtAt(p, new_addr + (r.lo - addr)) == PtState::kAbsent)
        table_moved.push_back(MmState::Slot(r.lo));
  }
  std::vector<uint32_t> unknown_dest;  // destination slots whose table is unknown
  for (const PtRun& r : pt_runs) {
    uint32_t lo = new_addr + (r.lo - addr), hi = new_addr + (r.hi - addr);
    for (uint32_t slot = MmState::Slot(lo); slot <= MmState::Slot(hi - 1); slot++) {
      if (r.state == PtState::kPresent) {
        p.pt[slot] = PtState::kPresent;
      } else if (!p.pt.Find(slot) || *p.pt.Find(slot) == PtState::kUnknown) {
        p.pt[slot] = PtState::kUnknown;
        unknown_dest.push_back(slot);
      }
    }
  }
  for (uint32_t slot : table_moved) p.pt.Erase(slot);
  for (auto& [slot, dirty] : thp_moved) {
    p.thp.Erase(slot);
    p.pt.Erase(slot);  // the PMD left is none
    p.thp[MmState::Slot(new_addr + (slot * kPagesPerPmd - addr))] = dirty;
  }
  // move_ptes(): where the old VMA has a uffd without EVENT_REMAP, uffd-wp
  // bits are cleared and markers dropped (vma_has_uffd_without_event_remap(),
  // CVE-2025-21696 fix, in 6.1.192); a VMA with no uffd at all keeps its
  // stale bits and markers (left by an unregister of a VMA no longer
  // registered for WP). Every moved entry is marked soft-dirty
  // (move_soft_dirty_pte()).
  auto move_one = [&](Pte np) -> Variant {
    if (uffd_no_remap) {
      if (np.kind == PteKind::kUffdMarker) return std::nullopt;
      np.uffd_wp = false;
    }
    np.soft_dirty = profile_.soft_dirty;
    return np;
  };
  for (auto& [pg, pte] : moved) {
    Variant np = move_one(pte);
    if (np) st_.SetPte(p, new_addr + (pg - addr), *np);
  }
  for (auto& [pg, d] : moved_doubts)
    SetDoubt(op.proc, new_addr + (pg - addr), d.alt_none ? Variant{} : move_one(d.alt), d.why);
  // Quirk softdirty_lost_on_mremap_pmd_move: in a table moved whole the
  // PTEs keep their soft-dirty bits.
  if (profile_.quirks.Has(Quirk::kSoftdirtyLostOnMremapPmdMove) && !table_moved.empty()) {
    for (auto& [pg, pte] : moved) {
      uint32_t dst = new_addr + (pg - addr);
      if (pte.soft_dirty || p.doubts.Find(dst) ||
          std::find(table_moved.begin(), table_moved.end(), MmState::Slot(pg)) == table_moved.end())
        continue;
      const Pte* now = p.ptes.Find(dst);
      if (!now || (now->kind != PteKind::kPresent && now->kind != PteKind::kSwap)) continue;
      Pte kept = *now;
      kept.soft_dirty = false;
      SetDoubt(op.proc, dst, kept, Grant::Of(Quirk::kSoftdirtyLostOnMremapPmdMove));
    }
  }
  // A table moved from a slot whose table the model does not know, holding
  // only PTEs the model cannot pin down, stays unknown (SetPte() above
  // assumed one).
  for (uint32_t slot : unknown_dest) {
    uint32_t s0 = slot * kPagesPerPmd, s1 = s0 + kPagesPerPmd;
    bool only_doubtful = true;
    for (auto it = p.ptes.LowerBound(s0); it != p.ptes.end() && it->first < s1; ++it)
      only_doubtful &= p.doubts.Find(it->first) != nullptr;
    if (only_doubtful) p.pt[slot] = PtState::kUnknown;
  }
  for (auto& [pg, pte] : moved)
    if (pte.kind == PteKind::kPresent || pte.kind == PteKind::kSwap) st_.Unref(pte.page);
  // copy_vma() merges the moved VMA into a neighbour and keeps the
  // neighbour's flags ([61] mm/mmap.c:3411): the contract's sticky
  // VM_SOFTDIRTY (docs/CONTRACT.md §4.3) may be lost on kernels with the quirk.
  // copy_vma() merges the copy with its new neighbours before the source is
  // unmapped, the (DONTUNMAP) source VMA itself included ("Source vma may
  // have been merged into new_vma"; [EMP] both kernels). Kernels without
  // the behaviour dontunmap_copy_merges_source keep a DONTUNMAP copy apart
  // from its source (6.1.192, 6.12.118).
  uint32_t keep_apart = UINT32_MAX, keep_apart2 = UINT32_MAX;
  if (dontunmap && !profile_.Has(kBehDontunmapCopyMergesSource)) {
    int oi = st_.VmaAt(p, addr);
    if (oi >= 0 && p.vmas[oi].end == new_addr) keep_apart = new_addr;
    if (oi >= 0 && p.vmas[oi].start == new_addr + new_len) keep_apart2 = new_addr + new_len;
  }
  // The copy still carries the source's uffd context when it merges;
  // mremap_userfaultfd_prep() resets it afterwards without merging again, so
  // a copy that loses its registration stays apart from unregistered
  // neighbours (a neighbour of the same context: the quirk above).
  if (!uffd_no_remap)
    MergeChanged(p, new_addr, new_addr + new_len, Keeper::kOutside, keep_apart, keep_apart2);
  if (dontunmap) {
    // The old VMA keeps VM_ACCOUNT ([EMP] 6.1 and 6.18: it still merges
    // with a new accountable mapping; upstream later clears it in
    // dontunmap_complete()); its anon_vma is unlinked if the whole VMA moved to
    // a VMA of its own (unlink_anon_vmas()).
    Vma& old_vma = p.vmas[st_.VmaAt(p, addr)];
    bool merged = old_vma.start <= new_addr && old_vma.end >= new_addr + new_len;
    if (whole_vma && !merged) {
      old_vma.anon_vma = 0;
      old_vma.anon_vma_cloned = false;
      // mm/mremap.c move_vma(): "The VMA is now unfaulted and it is an
      // invariant that unfaulted anonymous VMAs have page offset equal to
      // vma->vm_start >> PAGE_SHIFT" (vm_pgoff = pgoff_unfaulted), so it can
      // merge with a new mapping beside it (behaviour
      // dontunmap_source_pgoff_reset: [EMP] 6.1.192 and 6.12.118 yes, 6.18.44 no).
      if (old_vma.kind == MemKind::kAnon && profile_.Has(kBehDontunmapSourcePgoffReset))
        old_vma.pgoff = old_vma.start;
    }
  }
  return Ok();
}

}  // namespace mmdiff
