#include "model/state.h"

#include <algorithm>

namespace mmdiff {

MmState::MmState() {
  procs.resize(1);
  procs[0].alive = true;
  procs[0].fds.fill(-1);
  pages.resize(1);  // the zero page
  pages[0].in_use = true;
  pages[0].anon = false;
  named_files.fill(-1);
}

int MmState::VmaAt(const Process& p, uint32_t page) const {
  size_t i = FirstVmaEnding(p, page);
  return i < p.vmas.size() && p.vmas[i].start <= page ? static_cast<int>(i) : -1;
}

size_t MmState::FirstVmaEnding(const Process& p, uint32_t page) const {
  auto it = std::upper_bound(p.vmas.begin(), p.vmas.end(), page,
                             [](uint32_t pg, const Vma& v) { return pg < v.end; });
  return static_cast<size_t>(it - p.vmas.begin());
}

void MmState::SplitAt(Process& p, uint32_t page) {
  int i = VmaAt(p, page);
  if (i < 0 || p.vmas[i].start == page) return;
  // __split_vma (mm/mmap.c): both halves keep every flag, the anon_vma and the
  // uffd context; the tail's pgoff advances.
  // A huge PMD across the boundary is split (vma_adjust_trans_huge()).
  if (page % kPagesPerPmd) SplitHugePmd(p, Slot(page));
  Vma tail = p.vmas[i];
  tail.pgoff = p.vmas[i].FilePage(page);
  tail.start = page;
  p.vmas[i].end = page;
  p.vmas.insert(p.vmas.begin() + i + 1, tail);
}

void MmState::SplitHugePmd(Process& p, uint32_t slot) {
  // __split_huge_zero_page_pmd(): 512 PTEs of the 4K zero page, uffd-wp
  // carried (the model's PTEs already are those).
  p.huge_zero.Erase(slot);
  const bool* dirty = p.thp.Find(slot);
  if (!dirty) return;
  // __split_huge_pmd_locked(): each PTE gets the PMD's soft-dirty and uffd-wp
  // bits, and pte_mkdirty() when the PMD was dirty ("NOTE: this may set
  // soft-dirty too on some archs": x86 does), so a THP written since
  // clear_refs or not, once split, shows all its subpages soft-dirty; 6.1
  // did not mkdirty (kBehThpSplitDirtiesPtes).
  if (*dirty && mkdirty_sets_soft_dirty)
    for (auto it = p.ptes.LowerBound(slot * kPagesPerPmd);
         it != p.ptes.end() && it->first < (slot + 1) * kPagesPerPmd; ++it)
      it->second.soft_dirty = true;
  p.thp.Erase(slot);
  TouchPt(p, slot * kPagesPerPmd);  // the deposited page table
}

void MmState::SplitHugePmdsPartly(Process& p, uint32_t lo, uint32_t hi) {
  if (lo >= hi || (p.huge_zero.empty() && p.thp.empty())) return;
  for (uint32_t slot = Slot(lo); slot <= Slot(hi - 1); slot++)
    if (lo > slot * kPagesPerPmd || hi < (slot + 1) * kPagesPerPmd) SplitHugePmd(p, slot);
}

bool MmState::TouchesThp(const Process& p, uint32_t lo, uint32_t hi) {
  if (lo >= hi || p.thp.empty()) return false;
  auto it = p.thp.LowerBound(Slot(lo));
  return it != p.thp.end() && it->first <= Slot(hi - 1);
}

bool MmState::Mergeable(const Vma& a, const Vma& b) {
  // is_mergeable_vma() + is_mergeable_anon_vma() (mm/mmap.c in 6.1, mm/vma.c
  // upstream): equal flags except VM_SOFTDIRTY, same file and contiguous
  // pgoff, same uffd context, compatible anon_vma. The list_is_singular()
  // test refuses to merge a VMA whose anon_vma chain was cloned at fork.
  if (a.end != b.start) return false;
  if (a.kind == MemKind::kHugetlb) return false;  // VM_DONTEXPAND (VM_SPECIAL): hugetlb never merges
  if (a.prot != b.prot || a.shared != b.shared || a.kind != b.kind || a.obj != b.obj) return false;
  // vm_file: one inode opened twice (a file slot created again) is two files.
  if (a.open != b.open) return false;
  if (b.pgoff != a.pgoff + (a.end - a.start)) return false;
  if (a.account != b.account || a.noreserve != b.noreserve || a.dontfork != b.dontfork ||
      a.wipeonfork != b.wipeonfork || a.hugepage != b.hugepage || a.nohugepage != b.nohugepage)
    return false;
  if (a.uffd_modes != b.uffd_modes || a.uffd != b.uffd) return false;
  if (a.anon_vma && b.anon_vma) return a.anon_vma == b.anon_vma;
  if (a.anon_vma) return !a.anon_vma_cloned;
  if (b.anon_vma) return !b.anon_vma_cloned;
  return true;
}

bool MmState::MergeAround(Process& p, uint32_t lo, uint32_t hi, uint32_t not_at, uint32_t not_at2,
                          const std::vector<uint32_t>* changed_starts) {
  bool merged = false;
  // Pairs whose right VMA starts at or before hi: the VMAs in [lo, hi) with
  // their immediate neighbours (vma_merge() looks at prev and next only).
  size_t i = FirstVmaEnding(p, lo > 0 ? lo - 1 : 0);
  // The anon_vma of the changed VMA that ends the range, before any merge:
  // what vma_merge() passes as the area's anon_vma when it tries `next`.
  uint32_t area_anon = 0;
  if (legacy_anon_vma_merge && hi > lo) {
    size_t k = FirstVmaEnding(p, hi - 1);
    if (k < p.vmas.size() && p.vmas[k].start < hi) area_anon = p.vmas[k].anon_vma;
  }
  while (i + 1 < p.vmas.size() && p.vmas[i + 1].start <= hi) {
    Vma& a = p.vmas[i];
    const Vma& b = p.vmas[i + 1];
    bool ok = Mergeable(a, b) && a.end != not_at && a.end != not_at2;
    if (ok && legacy_anon_vma_merge && (a.anon_vma == 0) != (b.anon_vma == 0)) {
      // 6.1 mm/mmap.c is_mergeable_anon_vma(area's anon_vma, target's,
      // target): with one of them NULL it wants the target's anon_vma_chain
      // singular, so a changed VMA with an anon_vma does not merge into a
      // neighbour without one (upstream checks the side that has it,
      // mm/vma.c). The target is the unchanged neighbour, or for two
      // changed VMAs the left one (processed first). [EMP] 6.1.192.
      // Against `next` the kernel tests the changed area's own anon_vma
      // (can_vma_merge_before(next, anon_vma, ...)), not the one a merge
      // with `prev` gave it, and the three-way merge's own test
      // (is_mergeable_anon_vma(prev->anon_vma, next->anon_vma, NULL)) passes
      // with one side NULL: a new mapping between a prev with an anon_vma and
      // a next without one merges all three ([EMP] 6.1.192 and 6.12.118).
      bool b_is_target = b.start >= hi;
      uint32_t src_anon = b_is_target ? area_anon : b.anon_vma;
      if (changed_starts && !b_is_target) {
        // Skipped VMAs inside the range are unchanged neighbours: the target
        // is the unchanged side, tested against the changed VMA's own
        // anon_vma (6.1 fs/userfaultfd.c userfaultfd_register():
        // vma_merge(prev, ..., vma->anon_vma, ...) per changed VMA).
        auto is_changed = [&](uint32_t start) {
          return std::find(changed_starts->begin(), changed_starts->end(), start) != changed_starts->end();
        };
        bool a_changed = is_changed(a.start), b_changed = is_changed(b.start);
        if (!b_changed && a_changed) b_is_target = true, src_anon = a.anon_vma;
      }
      const Vma& tgt = b_is_target ? b : a;
      if (src_anon && !tgt.anon_vma) ok = false;
    }
    if (ok) {
      // Sticky VM_SOFTDIRTY: the merged VMA is soft-dirty if either side was
      // (upstream "mm: propagate VM_SOFTDIRTY on merge"; docs/CONTRACT.md §4.3).
      bool sure = (a.soft_dirty && !a.sd_lost_quirk) || (b.soft_dirty && !b.sd_lost_quirk);
      a.sd_lost_quirk = sure ? 0 : std::max(a.sd_lost_quirk, b.sd_lost_quirk);
      a.soft_dirty = a.soft_dirty || b.soft_dirty;
      a.maybe_guard = a.maybe_guard || b.maybe_guard;  // sticky, like VM_SOFTDIRTY
      if (!a.anon_vma) {
        a.anon_vma = b.anon_vma;
        a.anon_vma_cloned = b.anon_vma_cloned;
      }
      a.end = b.end;
      p.vmas.erase(p.vmas.begin() + i + 1);
      merged = true;
    } else {
      i++;
    }
  }
  return merged;
}

uint32_t MmState::NewPage(bool anon) {
  uint32_t id;
  if (!free_pages.empty()) {
    id = free_pages.back();
    free_pages.pop_back();
  } else {
    id = static_cast<uint32_t>(pages.size());
    pages.emplace_back();
  }
  pages[id] = PageObj{};
  pages[id].in_use = true;
  pages[id].anon = anon;
  return id;
}

uint32_t MmState::CopyPage(uint32_t from) {
  uint32_t id = NewPage(/*anon=*/true);
  if (from != kZeroPage) pages[id].bytes = pages[from].bytes;
  return id;
}

void MmState::Unref(uint32_t page) {
  if (page == kZeroPage) return;
  PageObj& pg = pages[page];
  if (--pg.refs == 0) {
    if (pg.huge) huge_free++;  // free_huge_folio(): back to the pool
    pg = PageObj{};
    free_pages.push_back(page);
  }
}

uint32_t MmState::CachePage(int32_t obj, uint32_t fp) {
  if (const uint32_t* id = files[obj].cache.Find(fp)) return *id;
  uint32_t id = NewPage(/*anon=*/false);
  pages[id].refs = 1;  // the page cache's reference
  files[obj].cache[fp] = id;
  return id;
}

void MmState::DropCache(int32_t obj, uint32_t lo, uint32_t hi) {
  FlatMap<uint32_t, uint32_t>& cache = files[obj].cache;
  for (auto it = cache.LowerBound(lo); it != cache.end() && it->first < hi; ++it) Unref(it->second);
  cache.EraseRange(lo, hi);
}

void MmState::SetPte(Process& p, uint32_t page, const Pte& pte) {
  if (pte.kind == PteKind::kPresent || pte.kind == PteKind::kSwap) {
    Ref(pte.page);
    if (pte.kind == PteKind::kPresent && pte.page != kZeroPage) pages[pte.page].mapcount++;
  }
  ClearPte(p, page);
  p.ptes[page] = pte;
  TouchPt(p, page);
}

void MmState::ClearPte(Process& p, uint32_t page) {
  Pte* old = p.ptes.Find(page);
  if (!old) return;
  if (old->kind == PteKind::kPresent && old->page != kZeroPage) pages[old->page].mapcount--;
  uint32_t id = (old->kind == PteKind::kPresent || old->kind == PteKind::kSwap) ? old->page : kZeroPage;
  p.ptes.Erase(page);
  Unref(id);
}

void MmState::FreeEmptyPt(Process& p, uint32_t lo, uint32_t hi) {
  if (lo >= hi) return;
  for (uint32_t s = Slot(lo); s <= Slot(hi - 1); s++) {
    uint32_t a = s * kPagesPerPmd, b = a + kPagesPerPmd;
    size_t i = FirstVmaEnding(p, a);
    if (i < p.vmas.size() && p.vmas[i].start < b) continue;
    p.pt.Erase(s);
  }
}

}  // namespace mmdiff
