// mremap(): shrink, grow in place, move (MAYMOVE|FIXED), DONTUNMAP
// ([61] mm/mremap.c; SEMANTICS.md §3.3, §3.4, §4.7).
#include <algorithm>
#include <cerrno>

#include "model/model.h"

namespace mmdiff {
namespace {

Result Ok() {
  Result r;
  r.kind = ResultKind::kOk;
  return r;
}
Result Err(int e) {
  Result r;
  r.kind = ResultKind::kErr;
  r.err = e;
  return r;
}

}  // namespace

Result Model::DoMremap(Step& s) {
  const Op& op = s.op;
  Process& p = st_.procs[op.proc];
  bool move = op.flags & kFlagMove;
  bool dontunmap = op.flags & kFlagDontunmap;
  uint32_t addr = op.page, old_len = op.npages, new_len = op.new_npages;
  // SYSCALL mremap(): flag and length checks.
  if (dontunmap && !move) return Err(EINVAL);
  if (dontunmap && old_len != new_len) return Err(EINVAL);
  if (new_len == 0) return Err(EINVAL);

  if (!move) {
    if (old_len >= new_len) {
      // "Always allow a shrinking remap": munmap the tail; equal lengths are a no-op.
      if (s.apply && old_len > new_len) {
        uint32_t lo = addr + new_len, hi = addr + old_len;
        st_.SplitAt(p, lo);
        st_.SplitAt(p, hi);
        ZapRange(op.proc, lo, hi, Zap::kUnmap);
        std::erase_if(p.vmas, [&](const Vma& v) { return v.start >= lo && v.end <= hi; });
        st_.FreeEmptyPt(p, lo, hi);
      }
      return Ok();
    }
    if (old_len == 0) {
      s.pred->unmodelled = "mremap with old_len 0";
      return Err(EINVAL);
    }
    // vma_to_resize(): the old range must lie in one VMA.
    int vi = st_.VmaAt(p, addr);
    if (vi < 0 || addr + old_len > p.vmas[vi].end) return Err(EFAULT);
    const Vma& v = p.vmas[vi];
    // Grow in place only if the range ends the VMA and the space after it is free.
    if (addr + old_len != v.end) return Err(ENOMEM);
    size_t next = vi + 1;
    if (next < p.vmas.size() && p.vmas[next].start < addr + new_len) return Err(ENOMEM);
    if (addr + new_len > kArenaPages) return Err(ENOMEM);
    if (!s.apply) return Ok();
    // vma_adjust()/vma_expand(): VM_SOFTDIRTY is NOT set on the new tail (§3.3).
    p.vmas[vi].end = addr + new_len;
    st_.MergeAround(p, addr, addr + new_len);
    return Ok();
  }

  uint32_t new_addr = op.new_page;
  // mremap_to(): the ranges must not overlap.
  if (addr + old_len > new_addr && new_addr + new_len > addr) return Err(EINVAL);
  if (old_len == 0) {
    s.pred->unmodelled = "mremap with old_len 0";
    return Err(EINVAL);
  }
  // The destination is unmapped first (MREMAP_FIXED), then a shrinking move
  // unmaps the old tail, and only then is the source checked — so a failing
  // source check leaves those unmaps done.
  if (s.apply) {
    st_.SplitAt(p, new_addr);
    st_.SplitAt(p, new_addr + new_len);
    ZapRange(op.proc, new_addr, new_addr + new_len, Zap::kUnmap);
    std::erase_if(p.vmas, [&](const Vma& v) { return v.start >= new_addr && v.end <= new_addr + new_len; });
    st_.FreeEmptyPt(p, new_addr, new_addr + new_len);
  }
  uint32_t move_len = old_len;
  if (old_len > new_len) {
    if (s.apply) {
      uint32_t lo = addr + new_len, hi = addr + old_len;
      st_.SplitAt(p, lo);
      st_.SplitAt(p, hi);
      ZapRange(op.proc, lo, hi, Zap::kUnmap);
      std::erase_if(p.vmas, [&](const Vma& v) { return v.start >= lo && v.end <= hi; });
      st_.FreeEmptyPt(p, lo, hi);
    }
    move_len = new_len;
  }
  // vma_to_resize() on the (possibly shrunk) source. In a dry run the
  // destination is still mapped: it cannot overlap the source (checked above).
  int vi = st_.VmaAt(p, addr);
  if (vi < 0 || addr + move_len > p.vmas[vi].end) return Err(EFAULT);
  if (!s.apply) return Ok();

  // move_vma(): split the source to exactly the moved range, copy_vma() to the
  // destination (flags copied, VM_SOFTDIRTY not set), move the PTEs.
  st_.SplitAt(p, addr);
  st_.SplitAt(p, addr + move_len);
  vi = st_.VmaAt(p, addr);
  Vma nv = p.vmas[vi];
  nv.start = new_addr;
  nv.end = new_addr + new_len;
  if (nv.IsAnonymous() && !nv.anon_vma) nv.pgoff = new_addr;  // copy_vma(): fresh anon pgoff
  // mremap_userfaultfd_prep(): without EVENT_REMAP the new VMA is unregistered.
  bool keep_uffd = nv.uffd >= 0 && (st_.uffds[nv.uffd].features & kUffdEventRemap);
  if (!keep_uffd) {
    nv.uffd = -1;
    nv.uffd_modes = 0;
  }
  // Collect the moved PTEs (and their table slots) before changing the table.
  std::vector<std::pair<uint32_t, Pte>> moved;
  std::vector<uint32_t> pt_pages;
  for (auto it = p.ptes.LowerBound(addr); it != p.ptes.end() && it->first < addr + move_len; ++it)
    moved.push_back(*it);
  for (uint32_t pg = addr; pg < addr + move_len; pg += 1) {
    if (st_.PtAt(p, pg) != PtState::kAbsent) pt_pages.push_back(pg);
    uint32_t next_slot = (MmState::Slot(pg) + 1) * kPagesPerPmd;
    if (next_slot > pg + 1) pg = std::min(next_slot, addr + move_len) - 1;
  }
  // Hold references while the source PTEs go away.
  for (auto& [pg, pte] : moved)
    if (pte.kind == PteKind::kPresent || pte.kind == PteKind::kSwap) st_.Ref(pte.page);
  for (auto& [pg, pte] : moved) st_.ClearPte(p, pg);
  if (dontunmap) {
    // The old VMA stays, empty, and is no longer charged (VM_ACCOUNT moves).
    p.vmas[vi].account = false;
  } else {
    p.vmas.erase(p.vmas.begin() + vi);
    st_.FreeEmptyPt(p, addr, addr + move_len);
  }
  p.vmas.insert(p.vmas.begin() + st_.FirstVmaEnding(p, new_addr), nv);
  for (uint32_t pg : pt_pages) st_.TouchPt(p, new_addr + (pg - addr));
  for (auto& [pg, pte] : moved) {
    Pte np = pte;
    // move_ptes(): without EVENT_REMAP uffd-wp bits are cleared and markers
    // dropped (CVE-2025-21696 fix, in 6.1.192); every moved entry is marked
    // soft-dirty (move_soft_dirty_pte()).
    if (!keep_uffd) {
      if (np.kind == PteKind::kUffdMarker) continue;
      np.uffd_wp = false;
    }
    np.soft_dirty = true;
    st_.SetPte(p, new_addr + (pg - addr), np);
  }
  for (auto& [pg, pte] : moved)
    if (pte.kind == PteKind::kPresent || pte.kind == PteKind::kSwap) st_.Unref(pte.page);
  st_.MergeAround(p, new_addr, new_addr + new_len);
  if (dontunmap) st_.MergeAround(p, addr, addr + move_len);
  return Ok();
}

}  // namespace mmdiff
