// userfaultfd: UFFDIO_API, REGISTER/UNREGISTER, WRITEPROTECT, release
// (SEMANTICS.md §4; [61] fs/userfaultfd.c, mm/userfaultfd.c; [UP] same files).
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

bool Model::UsesMarkers(const Vma& v) const {
  // userfaultfd_wp_use_markers(): file-backed VMAs always; anonymous ones only
  // with WP_UNPOPULATED (implied by WP_ASYNC), and never on 6.1 (§4.4, §8).
  if (!v.UffdWp() || v.uffd < 0) return false;
  if (!v.IsAnonymous()) return true;
  return !profile_.legacy_61 && (st_.uffds[v.uffd].features & kUffdWpUnpopulated);
}

bool Model::WpAsync(const Vma& v) const {
  return v.UffdWp() && v.uffd >= 0 && st_.uffds[v.uffd].Async();
}

Result Model::DoUffdOpen(Step& s) {
  const Op& op = s.op;
  // UFFDIO_API (§4.2): PAGEFAULT_FLAG_WP is always requested; any feature the
  // kernel does not know → EINVAL.
  if (!profile_.uffd_wp || !profile_.HasUffdFeature(op.uffd_features)) return Err(EINVAL);
  if (!s.apply) return Ok();
  Process& p = st_.procs[op.proc];
  // A second uffd_open opens a second context; the first stays open (its
  // fd is still held), uffd ops use the newest.
  if (p.uffd >= 0) p.older_uffds.push_back(p.uffd);
  UffdCtx c;
  c.features = op.uffd_features;
  // "WP_ASYNC relies on WP_UNPOPULATED, choose it unconditionally".
  if (c.features & kUffdWpAsync) c.features |= kUffdWpUnpopulated;
  c.owner = op.proc;
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
  for (size_t i = 0; i < p.vmas.size(); i++) {
    Vma& v = p.vmas[i];
    if (v.uffd != ctx) continue;
    if (v.UffdWp()) ClearUffdWp(owner, v.start, v.end);
    v.uffd = -1;
    v.uffd_modes = 0;
  }
  if (!p.vmas.empty()) st_.MergeAround(p, p.vmas.front().start, p.vmas.back().end);
}

void Model::ClearUffdWp(int proc, uint32_t lo, uint32_t hi) {
  Process& p = st_.procs[proc];
  std::vector<uint32_t> markers;
  for (auto it = p.ptes.LowerBound(lo); it != p.ptes.end() && it->first < hi; ++it) {
    if (it->second.kind == PteKind::kUffdMarker) markers.push_back(it->first);
    else it->second.uffd_wp = false;
  }
  for (uint32_t page : markers) st_.ClearPte(p, page);
}

void Model::WriteProtect(int proc, uint32_t lo, uint32_t hi, bool on) {
  Process& p = st_.procs[proc];
  int vi = st_.VmaAt(p, lo);
  if (vi < 0) return;
  bool markers = UsesMarkers(p.vmas[vi]);
  if (!on) {
    // MM_CP_UFFD_WP_RESOLVE: bits cleared, markers → none (§4.4).
    std::vector<uint32_t> drop;
    for (auto it = p.ptes.LowerBound(lo); it != p.ptes.end() && it->first < hi; ++it) {
      if (it->second.kind == PteKind::kUffdMarker) drop.push_back(it->first);
      else if (it->second.kind != PteKind::kGuard) it->second.uffd_wp = false;
    }
    for (uint32_t page : drop) st_.ClearPte(p, page);
    return;
  }
  // MM_CP_UFFD_WP: present and swap PTEs get the bit; none PTEs get a marker
  // where markers are used (page tables are allocated for the whole range);
  // guard markers are left alone.
  for (uint32_t page = lo; page < hi; page++) {
    Pte* pte = p.ptes.Find(page);
    if (pte) {
      if (pte->kind == PteKind::kPresent || pte->kind == PteKind::kSwap) pte->uffd_wp = true;
    } else if (markers) {
      st_.SetPte(p, page, Pte{PteKind::kUffdMarker, false, true, kZeroPage});
    }
  }
}

namespace {

// vma_can_userfault() ([61] include/linux/userfaultfd_k.h:146-162; [UP] adds
// the WP_ASYNC rule: WP-only registration works on any VMA).
bool CanUserfault(const Vma& v, uint32_t modes, bool async_ctx, bool legacy) {
  if ((modes & kUffdModeMinor) && !v.IsShmem()) return false;
  if (!legacy && async_ctx && modes == kUffdModeWp) return true;
  return v.IsAnonymous() || v.IsShmem();
}

}  // namespace

Result Model::DoUffdRegister(Step& s, bool reg) {
  const Op& op = s.op;
  Process& caller = st_.procs[op.proc];
  if (caller.uffd < 0) return Err(EBADF);
  int32_t ctx = caller.uffd;
  const UffdCtx& c = st_.uffds[ctx];
  int owner = c.owner;
  if (!st_.procs[owner].alive) {
    s.pred->unmodelled = "uffd ioctl on a context whose process exited";
    return Err(ESRCH);
  }
  Process& p = st_.procs[owner];
  uint32_t modes = op.uffd_modes;
  // userfaultfd_register(): mode checks, validate_range(), then the VMAs.
  if (reg && modes == 0) return Err(EINVAL);
  if (op.npages == 0) return Err(EINVAL);
  uint32_t lo = op.page, hi = op.page + op.npages;
  size_t i = st_.FirstVmaEnding(p, lo);
  if (i == p.vmas.size()) return Err(profile_.legacy_61 ? ENOMEM : EINVAL);  // §8
  if (p.vmas[i].start >= hi) return Err(EINVAL);
  bool async = c.Async();
  for (size_t k = i; k < p.vmas.size() && p.vmas[k].start < hi; k++) {
    const Vma& v = p.vmas[k];
    if (reg) {
      if (!CanUserfault(v, modes, async, profile_.legacy_61)) return Err(EINVAL);
      if (v.uffd >= 0 && v.uffd != ctx) return Err(EBUSY);
    } else if (!CanUserfault(v, v.uffd_modes, async, profile_.legacy_61)) {
      return Err(EINVAL);
    }
  }
  if (!s.apply) return Ok();
  // Nothing was modified before every VMA passed; now split so that exactly
  // [lo, hi) changes, and merge where the flags allow.
  uint32_t addr = std::max(lo, p.vmas[i].start);
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
  st_.MergeAround(p, lo, hi);
  return Ok();
}

Result Model::DoUffdWp(Step& s) {
  const Op& op = s.op;
  Process& caller = st_.procs[op.proc];
  if (caller.uffd < 0) return Err(EBADF);
  const UffdCtx& c = st_.uffds[caller.uffd];
  if (!st_.procs[c.owner].alive) {
    s.pred->unmodelled = "uffd ioctl on a context whose process exited";
    return Err(ESRCH);
  }
  int owner = c.owner;
  Process& p = st_.procs[owner];
  bool on = op.flags & kFlagWpOn;
  // userfaultfd_writeprotect(): validate_range(), then mode checks.
  if (op.npages == 0) return Err(EINVAL);
  if (on && (op.flags & kFlagDontwake)) return Err(EINVAL);
  uint32_t lo = op.page, hi = op.page + op.npages;
  if (profile_.legacy_61) {
    // 6.1 find_dst_vma(): the range must sit inside one uffd-wp VMA.
    int vi = st_.VmaAt(p, lo);
    if (vi < 0 || p.vmas[vi].end < hi || p.vmas[vi].uffd < 0 || !p.vmas[vi].UffdWp())
      return Err(ENOENT);
    if (s.apply) WriteProtect(owner, lo, hi, on);
    return Ok();
  }
  // Current mwriteprotect_range(): every VMA in the range, holes skipped; the
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
    if (s.apply) WriteProtect(owner, std::max(lo, v.start), std::min(hi, v.end), on);
    err = 0;
  }
  return err ? Err(err) : Ok();
}

}  // namespace mmdiff
