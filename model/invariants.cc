#include "model/invariants.h"

#include <vector>

namespace mmdiff {
namespace {

std::string At(size_t proc, uint32_t page) {
  return "p" + std::to_string(proc) + " page " + std::to_string(page) + ": ";
}

}  // namespace

std::optional<std::string> CheckInvariants(const Model& model) {
  const MmState& st = model.state();
  std::vector<uint32_t> mapcount(st.pages.size(), 0), refs(st.pages.size(), 0);
  for (const FileObj& f : st.files)
    for (auto& [fp, id] : f.cache) {
      if (id == kZeroPage || id >= st.pages.size() || !st.pages[id].in_use || st.pages[id].anon)
        return "page cache holds a bad page " + std::to_string(id);
      refs[id]++;
    }
  for (size_t pi = 0; pi < st.procs.size(); pi++) {
    const Process& p = st.procs[pi];
    if (!p.alive) {
      if (!p.vmas.empty() || !p.ptes.empty()) return "p" + std::to_string(pi) + " exited but holds memory";
      continue;
    }
    uint32_t prev_end = 0;
    for (const Vma& v : p.vmas) {
      std::string at = At(pi, v.start);
      if (v.start >= v.end) return at + "empty VMA";
      if (v.start < prev_end) return at + "VMAs overlap or are unsorted";
      if (v.end > kArenaPages) return at + "VMA outside the arena";
      prev_end = v.end;
      if ((v.kind == MemKind::kAnon) != (v.obj < 0)) return at + "backing object does not match the kind";
      if (v.obj >= static_cast<int32_t>(st.files.size())) return at + "bad backing object";
      if (v.kind == MemKind::kAnon && v.shared) return at + "shared anon VMA without shmem";
      if ((v.uffd_modes == 0) != (v.uffd < 0)) return at + "uffd modes and context disagree";
      if (v.uffd >= static_cast<int32_t>(st.uffds.size())) return at + "bad uffd context";
      if (v.uffd >= 0 && st.uffds[v.uffd].owner != static_cast<int>(pi))
        return at + "VMA registered with another process's context";
    }
    for (auto& [page, pte] : p.ptes) {
      std::string at = At(pi, page);
      int vi = st.VmaAt(p, page);
      if (vi < 0) return at + "PTE outside any VMA";
      const Vma& v = p.vmas[vi];
      // A slot whose table is unknown holds only PTEs the model cannot pin
      // down (fault-around that may have mapped nothing).
      if (st.PtAt(p, page) == PtState::kAbsent ||
          (st.PtAt(p, page) == PtState::kUnknown && !p.doubts.Find(page)))
        return at + "PTE without a page-table slot";
      switch (pte.kind) {
        case PteKind::kPresent:
        case PteKind::kSwap:
          if (pte.page >= st.pages.size() || !st.pages[pte.page].in_use) return at + "PTE maps a free page";
          if (pte.page == kZeroPage) {
            // UFFDIO_ZEROPAGE maps it into private shmem VMAs too.
            if (v.shared) return at + "zero page in a shared VMA";
          } else {
            const PageObj& pg = st.pages[pte.page];
            if (pg.anon && v.shared) return at + "anonymous page in a shared VMA";
            if (pg.anon && !v.anon_vma) return at + "anonymous page in a VMA without anon_vma";
            if (!pg.anon) {
              const uint32_t* c = st.files[v.obj].cache.Find(v.FilePage(page));
              if (!c || *c != pte.page) return at + "page-cache PTE does not map the cached page";
            }
            if (pte.kind == PteKind::kPresent) mapcount[pte.page]++;
            refs[pte.page]++;
          }
          break;
        case PteKind::kUffdMarker:
          // Markers outlive the registration that made them: re-registering
          // without MODE_WP changes only the VMA flags (userfaultfd_register()),
          // and so does releasing a context whose VMA is no longer uffd-wp
          // (userfaultfd_clear_vma()); a later registration may then use no
          // markers. pte_marker_handle_uffd_wp() copes with such leftovers
          // (memory.cc: stale_marker). Only 6.1 never has them on anon VMAs.
          if (!pte.uffd_wp) return at + "uffd-wp marker without the uffd-wp bit";
          if (v.IsAnonymous() && !model.profile().HasUffdFeature(kUffdWpUnpopulated))
            return at + "uffd-wp marker in an anonymous VMA on a kernel without WP_UNPOPULATED";
          break;
        case PteKind::kGuard:
          if (!model.profile().guard) return at + "guard marker on a kernel without guard regions";
          break;
      }
    }
  }
  for (size_t pi = 0; pi < st.procs.size(); pi++) {
    const Process& p = st.procs[pi];
    for (auto& [page, d] : p.doubts) {
      std::string at = At(pi, page);
      if (st.VmaAt(p, page) < 0) return at + "doubt outside any VMA";
      const Pte* prim = p.ptes.Find(page);
      if (d.alt_none && !prim) return at + "doubt between two none PTEs";
      if (!d.alt_none) {
        if (prim && d.alt == *prim) return at + "doubt between two equal PTEs";
        bool mapped = d.alt.kind == PteKind::kPresent || d.alt.kind == PteKind::kSwap;
        if (mapped && (!prim || prim->kind != d.alt.kind || prim->page != d.alt.page))
          return at + "doubt's alternative maps another page than the primary";
      }
    }
    for (auto& [slot, on] : p.huge_zero) {
      for (uint32_t pg = slot * kPagesPerPmd; pg < (slot + 1) * kPagesPerPmd; pg++) {
        const Pte* pte = p.ptes.Find(pg);
        if (!pte || pte->kind != PteKind::kPresent || pte->page != kZeroPage)
          return At(pi, pg) + "huge zero slot with a PTE that is not the zero page";
      }
    }
    for (auto& [slot, dirty] : p.thp) {
      if (p.huge_zero.Find(slot)) return At(pi, slot * kPagesPerPmd) + "slot both THP and huge zero";
      const Pte* first = p.ptes.Find(slot * kPagesPerPmd);
      for (uint32_t pg = slot * kPagesPerPmd; pg < (slot + 1) * kPagesPerPmd; pg++) {
        const Pte* pte = p.ptes.Find(pg);
        if (!pte || pte->kind != PteKind::kPresent || pte->page == kZeroPage || !st.pages[pte->page].anon)
          return At(pi, pg) + "THP slot with a PTE that is not an anonymous page";
        if (pte->soft_dirty != first->soft_dirty || pte->uffd_wp != first->uffd_wp)
          return At(pi, pg) + "THP slot whose PTEs differ in soft-dirty or uffd-wp (one PMD)";
        if (p.doubts.Find(pg)) return At(pi, pg) + "doubt in a THP slot";
      }
      int vi = st.VmaAt(p, slot * kPagesPerPmd);
      if (vi < 0 || p.vmas[vi].end < (slot + 1) * kPagesPerPmd)
        return At(pi, slot * kPagesPerPmd) + "THP slot not inside one VMA";
    }
  }
  for (size_t id = 1; id < st.pages.size(); id++) {
    const PageObj& pg = st.pages[id];
    if (!pg.in_use) continue;
    if (pg.mapcount != mapcount[id])
      return "page " + std::to_string(id) + " mapcount " + std::to_string(pg.mapcount) + " but " +
             std::to_string(mapcount[id]) + " PTEs map it";
    if (pg.refs != refs[id])
      return "page " + std::to_string(id) + " refs " + std::to_string(pg.refs) + " but " +
             std::to_string(refs[id]) + " holders";
  }
  return std::nullopt;
}

}  // namespace mmdiff
