// Loads and stores: the page-fault paths of mm/memory.c as the model sees
// them (SEMANTICS.md §3.2 soft-dirty, §4.5 uffd-wp faults, §4.6 markers).
#include <cerrno>
#include <csignal>

#include "model/model.h"

namespace mmdiff {
namespace {

bool IsSyncWp(const Vma& v, const std::vector<UffdCtx>& uffds) {
  return v.UffdWp() && v.uffd >= 0 && !uffds[v.uffd].Async();
}

}  // namespace

// One user access at `page`, as the CPU would fault it in: resolves
// userfaults the way the executor's handler does and leaves the PTE in its
// final state (for a write: present, writable, dirty, soft-dirty, no uffd-wp).
Model::Fault Model::FaultIn(int proc, uint32_t page, bool write, uint8_t* uffd_faults) {
  Process& p = st_.procs[proc];
  int vi = st_.VmaAt(p, page);
  if (vi < 0) return Fault::kSegv;
  // Copy the VMA's facts we need: EnsureAnonVma may edit the vector.
  const Vma v = p.vmas[vi];
  if (!v.Readable() || (write && !v.Writable())) return Fault::kSegv;
  const Pte* cur = p.ptes.Find(page);
  if (cur && cur->kind == PteKind::kGuard) return Fault::kSegv;  // guard region: SIGSEGV
  bool none_like = !cur || cur->kind == PteKind::kUffdMarker;
  if (v.kind != MemKind::kAnon && none_like && v.FilePage(page) >= st_.files[v.obj].size)
    return Fault::kBus;  // beyond EOF: shmem_fault()/filemap_fault() → SIGBUS

  // A marker in a VMA that is no longer uffd-wp is cleared and the fault
  // retried as on a none PTE (pte_marker_handle_uffd_wp(), [61] mm/memory.c:3732).
  if (cur && cur->kind == PteKind::kUffdMarker && !v.UffdWp()) {
    st_.ClearPte(p, page);
    cur = nullptr;
  }
  bool sync_wp = IsSyncWp(v, st_.uffds);

  if (!cur) {
    bool cached = v.IsShmem() && st_.files[v.obj].cache.Find(v.FilePage(page));
    if ((v.uffd_modes & kUffdModeMissing) && (v.IsAnonymous() || (v.IsShmem() && !cached))) {
      // MISSING userfault; the handler answers UFFDIO_ZEROPAGE: the zero page
      // for anonymous memory, a zeroed page-cache page for shmem.
      *uffd_faults |= kFaultMissing;
      if (v.IsAnonymous()) {
        st_.SetPte(p, page, Pte{PteKind::kPresent, false, false, kZeroPage});
      } else {
        st_.SetPte(p, page, Pte{PteKind::kPresent, false, false, st_.CachePage(v.obj, v.FilePage(page))});
      }
    } else if ((v.uffd_modes & kUffdModeMinor) && v.IsShmem() && cached) {
      // MINOR userfault; UFFDIO_CONTINUE maps the page-cache page.
      *uffd_faults |= kFaultMinor;
      st_.SetPte(p, page, Pte{PteKind::kPresent, false, false, st_.CachePage(v.obj, v.FilePage(page))});
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
    // the page-cache page, keeping uffd-wp of a marker (§4.5).
    bool wp = cur && cur->kind == PteKind::kUffdMarker;
    uint32_t pg = v.IsAnonymous() ? kZeroPage : st_.CachePage(v.obj, v.FilePage(page));
    st_.SetPte(p, page, Pte{PteKind::kPresent, false, wp, pg});
    return Fault::kNone;
  }

  // Write. First the uffd-wp fault: sync mode reports it and the handler
  // unprotects exactly this page; async mode resolves it in the kernel.
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
  next.soft_dirty = true;  // pte_mkdirty() sets _PAGE_SOFT_DIRTY (§3.1)
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
      next.page = old;  // wp_page_reuse(): exclusively ours
    } else {
      next.page = st_.CopyPage(old);  // COW after fork
    }
  } else if (v.IsAnonymous()) {
    next.page = st_.NewPage(/*anon=*/true);  // do_anonymous_page()
  } else {
    uint32_t cache = st_.CachePage(v.obj, v.FilePage(page));
    next.page = v.shared ? cache : st_.CopyPage(cache);  // do_shared_fault()/do_cow_fault()
  }
  if (st_.pages[next.page].anon) EnsureAnonVma(p, st_.VmaAt(p, page));
  st_.SetPte(p, page, next);
  PageObj& pg = st_.pages[next.page];
  pg.lazyfree = false;
  if (!pg.anon) pg.dirty = true;
  return Fault::kNone;
}

bool Model::ThpPossible(const Vma& v, uint32_t page) const {
  if (v.kind != MemKind::kAnon || v.nohugepage) return false;
  if (profile_.thp == ThpMode::kNever || (profile_.thp == ThpMode::kMadvise && !v.hugepage)) return false;
  uint32_t slot = page / kPagesPerPmd * kPagesPerPmd;
  return v.start <= slot && slot + kPagesPerPmd <= v.end;
}

Result Model::DoAccess(Step& s, bool write) {
  const Op& op = s.op;
  Process& p = st_.procs[op.proc];
  uint32_t page = op.page;
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
    if (!v.Readable() || (write && !v.Writable()) || (cur && cur->kind == PteKind::kGuard)) {
      fault = Fault::kSegv;
    } else if (v.kind != MemKind::kAnon && none_like && v.FilePage(page) >= st_.files[v.obj].size) {
      fault = Fault::kBus;
    } else {
      if (none_like && ThpPossible(v, page)) s.pred->unmodelled = "fault in a THP-eligible range";
      const uint32_t* cached = v.IsAnonymous() ? nullptr : st_.files[v.obj].cache.Find(v.FilePage(page));
      if (!cur || stale_marker) {
        if ((v.uffd_modes & kUffdModeMissing) && (v.IsAnonymous() || (v.IsShmem() && !cached)))
          faults |= kFaultMissing;
        else if ((v.uffd_modes & kUffdModeMinor) && v.IsShmem() && cached)
          faults |= kFaultMinor;
      }
      if (write && cur && !stale_marker && v.UffdWp() && cur->uffd_wp && IsSyncWp(v, st_.uffds))
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
  if (s.apply && fault == Fault::kNone) {
    uint8_t applied = 0;
    FaultIn(op.proc, page, write, &applied);
    if (write) {
      const Pte* pte = p.ptes.Find(page);
      st_.pages[pte->page].bytes.Set(op.offset, WriteToken(op, s.index));
    }
  }
  switch (fault) {
    case Fault::kSegv:
      r.kind = ResultKind::kFault;
      r.signal = SIGSEGV;
      return r;
    case Fault::kBus:
      r.kind = ResultKind::kFault;
      r.signal = SIGBUS;
      return r;
    case Fault::kNone:
      break;
  }
  r.uffd_faults = faults;
  if (write) {
    r.kind = ResultKind::kOk;
  } else {
    r.kind = ResultKind::kValue;
    r.value = value;
  }
  return r;
}

}  // namespace mmdiff
