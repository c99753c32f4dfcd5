// userfaultfd: UFFDIO_API, REGISTER/UNREGISTER, WRITEPROTECT, release
// (docs/CONTRACT.md §5; [61] fs/userfaultfd.c, mm/userfaultfd.c; [UP] same files).
#include <algorithm>
#include <cerrno>

#include "model/model.h"
#include "model/result_make.h"

namespace mmdiff {
bool Model::UsesMarkers(const Vma& v) const {
  // userfaultfd_wp_use_markers(): file-backed VMAs always; anonymous ones only
  // with WP_UNPOPULATED (implied by WP_ASYNC; a kernel without the feature
  // has no anonymous markers: mm/userfaultfd.c uffd_wp_range()).
  if (!v.UffdWp() || v.uffd < 0) return false;
  if (!v.IsAnonymous()) return true;
  return st_.uffds[v.uffd].features & kUffdWpUnpopulated;
}

bool Model::WpAsync(const Vma& v) const {
  return v.UffdWp() && v.uffd >= 0 && st_.uffds[v.uffd].Async();
}

Result Model::DoUffdOpen(Step& s) {
  const Op& op = s.op;
  // fs/userfaultfd.c userfaultfd_api() (UFFDIO_API, §5.1): PAGEFAULT_FLAG_WP
  // is always requested; any feature the kernel does not know (features &
  // ~UFFD_API_FEATURES) → EINVAL.
  if (!profile_.uffd_wp || !profile_.HasUffdFeature(op.uffd_features)) return Err(EINVAL);
  Process& p = st_.procs[op.proc];
  // A second uffd_open opens a second context; the first stays open (its
  // fd is still held), uffd ops use the newest.
  if (p.uffd >= 0 && !p.uffd_unborrowed) p.older_uffds.push_back(p.uffd);
  p.uffd_unborrowed = false;
  UffdCtx c;
  c.features = op.uffd_features;
  // "WP_ASYNC relies on WP_UNPOPULATED, choose it unconditionally".
  if (c.features & kUffdWpAsync) c.features |= kUffdWpUnpopulated;
  c.owner = op.proc;
  c.handler = op.proc;
  c.refs = 1;
  p.uffd = static_cast<int32_t>(st_.uffds.size());
  st_.uffds.push_back(c);
  return Ok();
}

void Model::ReleaseUffd(int32_t ctx) {
  // userfaultfd_release(): every VMA of the context is unregistered and its
  // write protection reset ([61] fs/userfaultfd.c:905-937).
  int owner = st_.uffds[ctx].owner;
  Process& p = st_.procs[owner];
  if (!p.alive) return;
  std::vector<std::pair<uint32_t, uint32_t>> changed;
  for (size_t i = 0; i < p.vmas.size(); i++) {
    Vma& v = p.vmas[i];
    if (v.uffd != ctx) continue;
    if (v.UffdWp()) ClearUffdWp(owner, v.start, v.end);
    v.uffd = -1;
    v.uffd_modes = 0;
    changed.push_back({v.start, v.end});
  }
  for (auto& [a, b] : changed) MergeChanged(p, a, b, Keeper::kEither);  // userfaultfd_clear_vma()
}

bool Model::ResolveMapsWritable(const Process& p, uint32_t page) const {
  // 6.1 uffd_wp_range(..., false) applies vm_get_page_prot(vm_flags) — write
  // permission for a shared writable VMA — to every present PTE, so soft-dirty
  // tracking loses its write fault (quirk softdirty_lost_on_uffd_wp_resolve).
  if (!profile_.quirks.Has(Quirk::kSoftdirtyLostOnUffdWpResolve)) return false;
  int vi = st_.VmaAt(p, page);
  return vi >= 0 && p.vmas[vi].shared && p.vmas[vi].Writable();
}

void Model::ClearUffdWp(int proc, uint32_t lo, uint32_t hi) {
  Process& p = st_.procs[proc];
  bool writable = lo < hi && ResolveMapsWritable(p, lo);
  auto doubts = TakeDoubts(proc, lo, hi);
  for (auto& [page, d] : doubts) {
    Variant alt = d.alt_none || d.alt.kind == PteKind::kUffdMarker ? Variant{} : Variant{d.alt};
    if (alt && alt->kind != PteKind::kGuard) alt->uffd_wp = false;
    if (alt && alt->kind == PteKind::kPresent && writable) alt->sd_silent = true;
    d.alt_none = !alt;
    if (alt) d.alt = *alt;
  }
  std::vector<uint32_t> markers;
  for (auto it = p.ptes.LowerBound(lo); it != p.ptes.end() && it->first < hi; ++it) {
    if (it->second.kind == PteKind::kUffdMarker) markers.push_back(it->first);
    // change_pte_range() skips guard markers (is_guard_swp_entry()): a uffd-wp
    // bit that PAGEMAP_SCAN's WP_MATCHING set on one stays ([EMP] 6.18).
    else if (it->second.kind != PteKind::kGuard) it->second.uffd_wp = false;
    if (it->second.kind == PteKind::kPresent && writable) it->second.sd_silent = true;
  }
  for (uint32_t page : markers) st_.ClearPte(p, page);
  for (auto& [page, d] : doubts) SetDoubt(proc, page, d.alt_none ? Variant{} : Variant{d.alt}, d.why);
}

void Model::WriteProtect(int proc, uint32_t lo, uint32_t hi, bool on) {
  Process& p = st_.procs[proc];
  int vi = st_.VmaAt(p, lo);
  if (vi < 0) return;
  // change_pmd_range() (mm/mprotect.c): a range covering a PMD only in part
  // splits it (__split_huge_pmd) whether it protects or unprotects, so a
  // huge zero page becomes 512 PTEs of the 4K zero page and a THP 512 PTEs
  // of its subpages; a whole PMD stays.
  st_.SplitHugePmdsPartly(p, lo, hi);
  bool markers = UsesMarkers(p.vmas[vi]);
  bool writable = !on && ResolveMapsWritable(p, lo);
  // change_pte_range() per PTE (§5.3). MM_CP_UFFD_WP: present and swap PTEs
  // get the bit; none PTEs get a marker where markers are used (page tables
  // are allocated for the whole range); markers and guard markers stay.
  // MM_CP_UFFD_WP_RESOLVE: bits cleared, markers → none, guards stay.
  auto rule = [&](const Variant& v) -> Variant {
    if (!v) return on && markers ? Variant{Pte{PteKind::kUffdMarker, false, true, kZeroPage}} : Variant{};
    Pte out = *v;
    switch (out.kind) {
      case PteKind::kUffdMarker: return on ? Variant{out} : Variant{};
      case PteKind::kGuard: return out;
      case PteKind::kPresent:
      case PteKind::kSwap:
        out.uffd_wp = on;
        // Protecting write-protects; resolving may map it writable (quirk).
        if (out.kind == PteKind::kPresent) out.sd_silent = writable;
        return out;
    }
    return out;
  };
  auto doubts = TakeDoubts(proc, lo, hi);
  for (uint32_t page = lo; page < hi; page++) {
    const Pte* pte = p.ptes.Find(page);
    if (!pte && !(on && markers)) continue;
    Variant now = rule(Primary(p, page));
    if (!now) st_.ClearPte(p, page);
    else if (!pte) st_.SetPte(p, page, *now);
    else *p.ptes.Find(page) = *now;  // same page: no reference changes
  }
  for (auto& [page, d] : doubts) SetDoubt(proc, page, rule(d.alt_none ? Variant{} : Variant{d.alt}), d.why);
}

namespace {

// include/linux/userfaultfd_k.h vma_can_userfault(): MINOR only on shmem
// (and hugetlb); with WP_ASYNC (a context can have it only where the kernel
// has the rule) a WP-only registration works on any VMA; else anonymous or
// shmem.
bool CanUserfault(const Vma& v, uint32_t modes, bool async_ctx) {
  bool hugetlb = v.kind == MemKind::kHugetlb;
  if ((modes & kUffdModeMinor) && !v.IsShmem() && !hugetlb) return false;
  if (async_ctx && modes == kUffdModeWp) return true;
  return v.IsAnonymous() || v.IsShmem() || hugetlb;
}

}  // namespace

bool Model::BorrowUffd(Step& s) {
  // The executor's UffdForOps(): a forked child's context is fetched from the
  // parent's handler with pidfd_getfd() at the first use; with the parent
  // gone there is nothing to fetch (ioctl on fd -1: EBADF).
  Process& caller = st_.procs[s.op.proc];
  if (caller.uffd < 0) return false;
  if (!caller.uffd_unborrowed) return true;
  bool holder_alive = false;
  for (const Process& q : st_.procs)
    if (q.alive)
      for (int32_t h : q.handler_uffds) holder_alive |= h == caller.uffd;
  if (!holder_alive) return false;
  st_.uffds[caller.uffd].refs++;
  caller.uffd_unborrowed = false;
  return true;
}

Result Model::DoUffdRegister(Step& s, bool reg) {
  const Op& op = s.op;
  Process& caller = st_.procs[op.proc];
  if (!BorrowUffd(s)) return Err(EBADF);  // fs/ioctl.c: ioctl() on no uffd fd
  int32_t ctx = caller.uffd;
  const UffdCtx& c = st_.uffds[ctx];
  int owner = c.owner;
  if (!st_.procs[owner].alive) {
    s.pred->unmodelled = "uffd ioctl on a context whose process exited";
    // fs/userfaultfd.c userfaultfd_register()/userfaultfd_unregister():
    // mmget_not_zero() fails (the kernel says ENOMEM, after the mode and
    // range checks; the op is unmodelled, so the errno is not compared).
    return Err(ESRCH);
  }
  Process& p = st_.procs[owner];
  uint32_t modes = op.uffd_modes;
  // fs/userfaultfd.c userfaultfd_register(): mode checks, validate_range(),
  // then the VMAs (vma_can_userfault(): EINVAL; another context's: EBUSY).
  if (reg && modes == 0) return Err(EINVAL);  // fs/userfaultfd.c userfaultfd_register(): !mode
  // fs/userfaultfd.c validate_range() (6.12: validate_unaligned_range()): !len.
  if (op.npages == 0) return Err(EINVAL);
  uint32_t lo = op.page, hi = op.page + op.npages;
  // find_vma(start): none at all → ENOMEM on 6.1 (EINVAL on current
  // kernels, §2); one starting at or after the end → EINVAL. The executor's
  // stack always lies above the arena, so 6.1 too finds a VMA: EINVAL.
  size_t i = st_.FirstVmaEnding(p, lo);
  // fs/userfaultfd.c userfaultfd_register(), userfaultfd_unregister(): vma->vm_start >= end.
  if (i == p.vmas.size() || p.vmas[i].start >= hi) return Err(EINVAL);
  bool async = c.Async();
  bool other_ctx = false;
  // fs/userfaultfd.c userfaultfd_register(), userfaultfd_unregister(): a
  // hugetlb first VMA wants `start` on a huge page boundary.
  if (p.vmas[i].kind == MemKind::kHugetlb && lo % kPagesPerPmd) return Err(EINVAL);
  for (size_t k = i; k < p.vmas.size() && p.vmas[k].start < hi; k++) {
    const Vma& v = p.vmas[k];
    if (reg) {
      if (!CanUserfault(v, modes, async)) return Err(EINVAL);  // fs/userfaultfd.c userfaultfd_register()
      // userfaultfd_register(): the hugetlb VMA holding `end` wants it aligned.
      if (v.kind == MemKind::kHugetlb && hi <= v.end && hi % kPagesPerPmd) return Err(EINVAL);
      // fs/userfaultfd.c userfaultfd_register(): registered with another context.
      if (v.uffd >= 0 && v.uffd != ctx) return Err(EBUSY);
    } else {
      // userfaultfd_unregister(): not through another context than the one
      // that registered the VMA ("userfaultfd: prevent unregistering VMAs
      // through a different userfaultfd", Fixes: the original syscall), then
      // vma_can_userfault() on the VMA's own modes.
      if (v.uffd >= 0 && v.uffd != ctx) other_ctx = true;
      if (!CanUserfault(v, v.uffd_modes, async)) return Err(EINVAL);  // fs/userfaultfd.c userfaultfd_unregister()
    }
  }
  // userfaultfd_unregister() splits the registered VMA holding `end`
  // (split_vma() / userfaultfd_clear_vma()): hugetlb_vm_op_split() refuses
  // it off a huge page boundary, after the VMAs before it were unregistered.
  // Where that VMA is the first, its write protection is reset first (below).
  bool refused = !reg && HugetlbSplitRefused(p, hi) && p.vmas[st_.VmaAt(p, hi)].uffd >= 0;
  bool refused_resets_wp = refused && st_.VmaAt(p, hi) == static_cast<int>(i) && p.vmas[i].UffdWp();
  if (other_ctx) {
    // Kernels without that fix unregister them (quirk uffd_unregister_other_ctx;
    // the fix is in neither the 6.1 nor the 6.12 fs/userfaultfd.c
    // userfaultfd_unregister()).
    if (!profile_.quirks.Has(Quirk::kUffdUnregisterOtherCtx)) return Err(EINVAL);
    Grants g;
    g.Add(Grant::Of(Quirk::kUffdUnregisterOtherCtx));
    s.pred->alternatives.push_back({Ok(), g});
    // The contract's answer (fs/userfaultfd.c userfaultfd_unregister() with the fix).
    if (const Result* obs = s.Observed(); !obs || obs->kind != ResultKind::kOk) {
      // A kernel with the quirk says EINVAL too where it goes on to a
      // refused hugetlb split (below): after userfaultfd_clear_vma() reset
      // write protection. Both states stay possible, as doubts the quirk
      // grants ([EMP] 6.12.118: a campaign's wrong-wp, a W bit gone after
      // `uffd_unregister 512 1` through a second context).
      if (refused_resets_wp) {
        Model cleared = *this;
        cleared.ClearUffdWp(owner, lo, AlignUp(hi, kPagesPerPmd));
        if (!MergeWorld(cleared, Grant::Of(Quirk::kUffdUnregisterOtherCtx)))
          s.pred->unmodelled = "uffd_unregister through another context refused at a hugetlb split";
      }
      return Err(EINVAL);
    }
    // The kernel took the quirk: go on as it did.
  }
  if (refused) {
    if (st_.VmaAt(p, hi) == static_cast<int>(i)) {
      // mm/userfaultfd.c userfaultfd_clear_vma() (6.1: inline in
      // userfaultfd_unregister()) resets write protection (uffd_wp_range())
      // before vma_modify_flags_uffd() fails: the ioctl returns EINVAL with
      // the uffd-wp bits and markers of the huge pages it covers
      // (hugetlb_change_protection() takes the one `end` falls in whole)
      // gone, the VMA still registered ([EMP] 6.1, 6.12, 6.18:
      // corpus/hugetlb_unregister_refused_clears_wp.mmp).
      if (p.vmas[i].UffdWp()) ClearUffdWp(owner, lo, AlignUp(hi, kPagesPerPmd));
      return Err(EINVAL);
    }
    s.pred->unmodelled = "uffd_unregister refused at a hugetlb split after changing other VMAs";
  }
  if (reg && (modes & kUffdModeWp)) {
    // A PTE a write made writable while its VMA was not registered for WP
    // keeps its stale uffd-wp bit (mm/memory.c wp_page_reuse(),
    // wp_page_shared()); registered for WP again, its next write takes no
    // fault (the PTE is writable) and the bit stays, so PAGEMAP_SCAN says
    // not written (found on 6.18 and 6.12 by campaigns). Whether that
    // breaks the contract is not settled: not modelled.
    for (auto it = p.ptes.LowerBound(lo); it != p.ptes.end() && it->first < hi; ++it) {
      const Pte& pte = it->second;
      int vi = st_.VmaAt(p, it->first);
      if (pte.kind == PteKind::kPresent && pte.stale_wp_writable && pte.uffd_wp && vi >= 0 && !p.vmas[vi].UffdWp()) {
        s.pred->unmodelled = "uffd_register wp over a writable PTE with a stale uffd-wp bit";
        break;
      }
    }
  }
  // Nothing was modified before every VMA passed; now split so that exactly
  // [lo, hi) changes, and merge where the flags allow.
  uint32_t addr = std::max(lo, p.vmas[i].start);
  uint32_t changed_lo = UINT32_MAX, changed_hi = 0;
  // 6.1 passes vma_merge() the pgoff of the VMA's start, not of `start`
  // (fs/userfaultfd.c; the 6.1.y backport of "mm/uffd: fix vma operation
  // where start addr cuts part of vma" took only the prev fix, not "mm/uffd:
  // Allow vma to merge as much as possible"): a first piece that starts
  // inside its VMA cannot merge with the VMA after it unless that VMA is
  // changed by this call too (its own iteration merges back with the right
  // pgoff). [EMP] 6.1.192: register [101,104) over [100,104) with [103,104)
  // registered leaves two VMAs.
  uint32_t no_merge_at = UINT32_MAX;
  std::vector<uint32_t> piece_starts;
  while (addr < hi) {
    int vi = st_.VmaAt(p, addr);
    if (vi < 0) {
      size_t n = st_.FirstVmaEnding(p, addr);
      if (n == p.vmas.size() || p.vmas[n].start >= hi) break;
      addr = p.vmas[n].start;
      continue;
    }
    uint32_t vend = std::min(hi, p.vmas[vi].end);
    const Vma& v = p.vmas[vi];
    bool skip = reg ? (v.uffd == ctx && (v.uffd_modes & modes) == modes) : v.uffd < 0;
    if (!skip) {
      changed_lo = std::min(changed_lo, addr);
      changed_hi = std::max(changed_hi, vend);
      piece_starts.push_back(addr);
      if (!profile_.Has(kBehUffdRegisterPgoffFromRange) && addr > v.start && vend == v.end) no_merge_at = vend;
      st_.SplitAt(p, addr);
      st_.SplitAt(p, vend);
      Vma& w = p.vmas[st_.VmaAt(p, addr)];
      if (reg) {
        w.uffd = ctx;
        w.uffd_modes = static_cast<uint8_t>(modes);  // re-registering replaces the modes
      } else {
        // UNREGISTER resets write protection: bits cleared, markers dropped.
        if (w.UffdWp()) ClearUffdWp(owner, addr, vend);
        w.uffd = -1;
        w.uffd_modes = 0;
      }
    }
    addr = vend;
  }
  if (std::find(piece_starts.begin(), piece_starts.end(), no_merge_at) != piece_starts.end())
    no_merge_at = UINT32_MAX;
  // userfaultfd_register_range(): vma_modify_flags_uffd() merges, then the
  // merged VMA gets the changed VMA's flags (6.1 userfaultfd_set_vm_flags(vma,
  // new_flags)) or keeps its own, the survivor's (6.12 userfaultfd_set_ctx()).
  // VMAs skipped in between are unchanged neighbours (piece_starts).
  if (changed_lo < changed_hi)
    MergeChanged(p, changed_lo, changed_hi, Keeper::kEither, no_merge_at, UINT32_MAX, &piece_starts);
  return Ok();
}

Result Model::DoUffdWp(Step& s) {
  const Op& op = s.op;
  Process& caller = st_.procs[op.proc];
  if (!BorrowUffd(s)) return Err(EBADF);  // fs/ioctl.c: ioctl() on no uffd fd
  const UffdCtx& c = st_.uffds[caller.uffd];
  if (!st_.procs[c.owner].alive) {
    s.pred->unmodelled = "uffd ioctl on a context whose process exited";
    // fs/userfaultfd.c userfaultfd_writeprotect(): mmget_not_zero() fails →
    // ESRCH (after the range and mode checks; the op is unmodelled).
    return Err(ESRCH);
  }
  int owner = c.owner;
  Process& p = st_.procs[owner];
  bool on = op.flags & kFlagWpOn;
  if (on && TouchesHugeZero(p, op.page, op.page + op.npages))
    s.pred->unmodelled = "write-protecting a huge zero page";
  // fs/userfaultfd.c userfaultfd_writeprotect(): validate_range(), then mode
  // checks (WP with DONTWAKE: EINVAL).
  if (op.npages == 0) return Err(EINVAL);  // fs/userfaultfd.c validate_range(): !len
  if (on && (op.flags & kFlagDontwake)) return Err(EINVAL);  // fs/userfaultfd.c userfaultfd_writeprotect()
  uint32_t lo = op.page, hi = op.page + op.npages;
  if (!profile_.Has(kBehWpRangeMultiVma)) {
    // 6.1 mm/userfaultfd.c mwriteprotect_range(): find_dst_vma(), the range
    // must sit inside one uffd-wp VMA.
    int vi = st_.VmaAt(p, lo);
    if (vi < 0 || p.vmas[vi].end < hi || p.vmas[vi].uffd < 0 || !p.vmas[vi].UffdWp())
      return Err(ENOENT);  // 6.1 mm/userfaultfd.c mwriteprotect_range()
    // 6.1 mwriteprotect_range(): hugetlb wants start and len in huge pages.
    if (p.vmas[vi].kind == MemKind::kHugetlb && (lo % kPagesPerPmd || op.npages % kPagesPerPmd)) return Err(EINVAL);
    WriteProtect(owner, lo, hi, on);
    return Ok();
  }
  // 6.12 mm/userfaultfd.c mwriteprotect_range(): every VMA in the range, holes skipped; the
  // first VMA without VM_UFFD_WP fails with ENOENT after the earlier ones
  // were changed; no VMA at all → ENOENT.
  int err = ENOENT;
  size_t i = st_.FirstVmaEnding(p, lo);
  for (; i < p.vmas.size() && p.vmas[i].start < hi; i++) {
    const Vma& v = p.vmas[i];
    if (!v.UffdWp()) {
      err = ENOENT;
      break;
    }
    // 6.12 mwriteprotect_range(): a hugetlb VMA wants start and len in huge pages.
    if (v.kind == MemKind::kHugetlb && (lo % kPagesPerPmd || op.npages % kPagesPerPmd)) {
      err = EINVAL;
      break;
    }
    WriteProtect(owner, std::max(lo, v.start), std::min(hi, v.end), on);
    err = 0;
  }
  return err ? Err(err) : Ok();  // 6.12 mm/userfaultfd.c mwriteprotect_range()
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

}  // namespace mmdiff
