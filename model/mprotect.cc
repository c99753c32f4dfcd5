// mprotect(): mm/mprotect.c (docs/CONTRACT.md §4.2, §4.3; [61] = Debian
// 6.1.192, [UP] = current upstream).
#include <algorithm>
#include <cerrno>

#include "model/model.h"
#include "model/result_make.h"

namespace mmdiff {

// --- mprotect -------------------------------------------------------------

Result Model::DoMprotect(Step& s) {
  const Op& op = s.op;
  Process& p = st_.procs[op.proc];
  if (op.npages == 0) return Ok();
  uint32_t lo = op.page, hi = op.page + op.npages;
  // mm/mprotect.c do_mprotect_pkey(): VMAs are changed in address order; a hole stops the
  // walk with ENOMEM after the earlier VMAs were already changed.
  int err = 0;
  uint32_t addr = lo;
  uint32_t changed_lo = UINT32_MAX, changed_hi = 0;
  while (addr < hi) {
    int vi = st_.VmaAt(p, addr);
    if (vi < 0) {
      err = ENOMEM;  // mm/mprotect.c do_mprotect_pkey(): a hole
      break;
    }
    uint32_t vend = std::min(hi, p.vmas[vi].end);
    // mm/mprotect.c mprotect_fixup(): nothing to do (no split) when the flags stay.
    bool same = p.vmas[vi].prot == op.prot;
    // mm/mprotect.c mprotect_fixup(): making a private, never-writable, unaccounted VMA
    // writable charges it (not VM_HUGETLB); a refused charge stops the walk (ENOMEM).
    const Vma& cur = p.vmas[vi];
    bool to_writable = op.prot == Prot::kRW || op.prot == Prot::kRWX;
    if (!same && to_writable && !cur.Writable() && !cur.account && !cur.shared && !cur.noreserve &&
        cur.kind != MemKind::kHugetlb && CommitRefused(vend - addr)) {
      err = ENOMEM;  // mm/mprotect.c mprotect_fixup(): security_vm_enough_memory_mm()
      break;
    }
    if (!same) {
      changed_lo = std::min(changed_lo, addr);
      changed_hi = std::max(changed_hi, vend);
      st_.SplitAt(p, addr);
      st_.SplitAt(p, vend);
      Vma& v = p.vmas[st_.VmaAt(p, addr)];
      v.prot = op.prot;
      // mm/mprotect.c mprotect_fixup(): making a private mapping writable charges it (VM_ACCOUNT);
      // making it read-only again does not uncharge — except, on current
      // kernels, an anonymous VMA that never faulted (no anon_vma: "mm/mprotect:
      // allow unfaulted VMAs to be unaccounted on mprotect()", 6.6; [EMP]
      // 6.18: it then no longer merges with a charged neighbour).
      if (!v.shared && v.Writable() && !v.noreserve && v.kind != MemKind::kHugetlb) v.account = true;
      else if (!v.Writable() && profile_.Has(kBehMprotectUnaccountsUnfaulted) && v.IsAnonymous() && !v.anon_vma)
        v.account = false;
      // mm/mprotect.c change_protection() with vm_page_prot: a PTE the quirk
      // softdirty_lost_on_uffd_wp_resolve left writable is write-notified again
      // (can_change_pte_writable() wants soft-dirty set to upgrade it).
      for (auto it = p.ptes.LowerBound(addr); it != p.ptes.end() && it->first < vend; ++it)
        if (!it->second.soft_dirty) it->second.sd_silent = false;
      for (auto it = p.doubts.LowerBound(addr); it != p.doubts.end() && it->first < vend; ++it)
        if (!it->second.alt.soft_dirty) it->second.alt.sd_silent = false;
      // mm/mprotect.c change_pte_range(): PTE soft-dirty and uffd-wp bits are
      // kept (pte_modify(), _PAGE_CHG_MASK; §4.2, §5.6).
      // A stale uffd-wp bit (the VMA no longer registered for WP) does not
      // keep the PTE write-protected: pte_modify() takes vm_page_prot, which
      // is writable for a shared VMA without write-notify, and
      // can_change_pte_writable() (userfaultfd_pte_wp() false) upgrades an
      // exclusive anon or dirty shared one. Registered for WP again, its
      // write would take no fault ([EMP] 6.18, a fork-drops-uffd-wp
      // campaign): the stale_wp_writable case DoUffdRegister does not model.
      // Conservative: every such PTE may be writable now.
      if (v.Writable() && !v.UffdWp())
        for (auto it = p.ptes.LowerBound(addr); it != p.ptes.end() && it->first < vend; ++it)
          if (it->second.kind == PteKind::kPresent && it->second.uffd_wp) it->second.stale_wp_writable = true;
    }
    addr = vend;
  }
  if (changed_lo < changed_hi) {
    // mprotect_fixup() ([61] mm/mprotect.c:605-633): a merged VMA gets the
    // flags of the VMA mprotect changed, dropping a neighbour's
    // VM_SOFTDIRTY. The contract (sticky VM_SOFTDIRTY, docs/CONTRACT.md §4.3)
    // keeps it; kernels with the quirk may not.
    MergeChanged(p, changed_lo, changed_hi);
  }
  // mm/mprotect.c do_mprotect_pkey(): the walk's error (hole or refused charge).
  return err ? Err(err) : Ok();
}

}  // namespace mmdiff
