// mm/khugepaged.c: khugepaged collapses the 4K pages of a THP-eligible 2 MiB
// range into a new THP on its own schedule, which no program can follow. The
// model never collapses on its own: after a divergence, CheckTrace walks
// again with one collapse placed before an op (KernelProfile::collapse), the
// allowance khugepaged-may-collapse (docs/CONTRACT.md §11.3).
#include "model/model.h"

namespace mmdiff {

std::vector<uint32_t> Model::CollapsibleSlots(int proc) const {
  std::vector<uint32_t> out;
  if (profile_.thp == ThpMode::kNever || proc < 0 || static_cast<size_t>(proc) >= st_.procs.size()) return out;
  const Process& p = st_.procs[proc];
  if (!p.alive) return out;
  for (const Vma& v : p.vmas) {
    // hugepage_vma_revalidate(): an anonymous VMA that THP may back
    // (thp_vma_allowable_order()) and that covers the whole aligned range.
    for (uint32_t s0 = AlignUp(v.start, kPagesPerPmd); s0 + kPagesPerPmd <= v.end; s0 += kPagesPerPmd) {
      uint32_t slot = MmState::Slot(s0);
      // find_pmd_or_thp_or_none(): a PMD mapping (THP or huge zero page)
      // has nothing to collapse; a page table the model is unsure of, or a
      // PTE it holds in doubt, is left alone (it cannot say what the
      // collapse would copy).
      if (!ThpPossible(v, s0) || p.thp.Find(slot) || p.huge_zero.Find(slot) || st_.PtAt(p, s0) != PtState::kPresent)
        continue;
      auto d = p.doubts.LowerBound(s0);
      if (d != p.doubts.end() && d->first < s0 + kPagesPerPmd) continue;
      // hpage_collapse_scan_pmd(), PTE by PTE, with khugepaged's limits:
      int none = 0, swapped = 0, shared = 0, pages = 0;
      bool refused = false;
      for (uint32_t pg = s0; pg < s0 + kPagesPerPmd && !refused; pg++) {
        const Pte* pte = p.ptes.Find(pg);
        if (pte && pte->kind != PteKind::kPresent) {
          // is_swap_pte(): a swap entry counts against max_ptes_swap, and
          // any uffd-wp'd one (pte_swp_uffd_wp_any(): markers too) refuses
          // the collapse. __collapse_huge_page_swapin() cannot fault in a
          // guard marker (SIGSEGV).
          refused = pte->kind != PteKind::kSwap || pte->uffd_wp || ++swapped > profile_.khugepaged_max_ptes_swap;
          continue;
        }
        if (!pte || pte->page == kZeroPage) {
          // pte_none_or_zero(): refused in a VMA registered with userfaultfd
          // at all (userfaultfd_armed()), else counted against max_ptes_none.
          refused = v.uffd_modes || ++none > profile_.khugepaged_max_ptes_none;
          continue;
        }
        // pte_uffd_wp(): "Don't collapse the page if any of the small PTEs
        // are armed with uffd write protection."
        if (pte->uffd_wp) refused = true;
        // folio_likely_mapped_shared(): against max_ptes_shared.
        if (st_.pages[pte->page].mapcount > 1 && ++shared > profile_.khugepaged_max_ptes_shared) refused = true;
        pages++;
      }
      // pte_write() of none and the referenced test are not modelled: a
      // collapse the model allows may still not happen, which is no collapse.
      if (!refused && pages > 0) out.push_back(slot);
    }
  }
  return out;
}

void Model::CollapseHugePage(int proc, uint32_t slot) {
  Process& p = st_.procs[proc];
  uint32_t s0 = slot * kPagesPerPmd;
  // collapse_huge_page(): the swapped pages are faulted in
  // (__collapse_huge_page_swapin()), each page is copied into a new folio
  // and empty or zero-page PTEs become zeroed subpages
  // (__collapse_huge_page_copy()); one PMD maps it,
  // maybe_pmd_mkwrite(pmd_mkdirty()): dirty, soft-dirty on x86, no uffd-wp
  // (a uffd-wp'd PTE refused the collapse). The old pages are released.
  uint32_t folio = st_.next_folio++;
  for (uint32_t pg = s0; pg < s0 + kPagesPerPmd; pg++) {
    Bytes bytes;
    if (const Pte* old = p.ptes.Find(pg); old && old->page != kZeroPage) bytes = st_.pages[old->page].bytes;
    uint32_t id = st_.NewPage(/*anon=*/true);
    st_.pages[id].folio = folio;
    st_.pages[id].bytes = std::move(bytes);
    st_.SetPte(p, pg, Pte{PteKind::kPresent, profile_.soft_dirty, false, id});
  }
  p.thp[slot] = true;
}

}  // namespace mmdiff
