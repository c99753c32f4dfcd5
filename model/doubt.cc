// Doubtful PTEs: where the kernel has latitude (an allowance) or a known bug
// (a quirk) that changes a PTE, the model keeps both outcomes for that page
// (state.h Doubt) until an observation tells them apart:
//   fault-around-may-map  primary: a page-cache page mapped by fault-around;
//                         alternative: none (mm/filemap.c filemap_map_pages
//                         may skip any page: locked, not uptodate, ...).
//   reclaim-may-unmap     primary: the mapped page; alternative: none, or a
//                         uffd-wp marker (mm/rmap.c try_to_unmap_one ->
//                         pte_install_uffd_wp_if_needed).
//   reuse-may-copy        primary: the reused PTE keeping a stale uffd-wp bit;
//                         alternative: the same without it (a COW copy).
//   shmem_drop_page_keeps_uffd_wp_marker (quirk)
//                         primary: none (the contract); alternative: marker.
// pagemap gives the differing bits as latitude and resolves each doubt from
// the observed entry; PAGEMAP_SCAN enumerates the combinations (task_mmu.cc);
// an access runs on both sides and merges (memory.cc, MergeWorld below);
// every op that rewrites PTEs applies its per-PTE rule to the alternative too.
#include <algorithm>
#include <optional>

#include "model/model.h"

namespace mmdiff {
namespace {

bool SameVariant(const Model::Variant& a, const Model::Variant& b) {
  if (!a || !b) return !a && !b;
  return *a == *b;
}

}  // namespace

Model::Variant Model::Primary(const Process& p, uint32_t page) const {
  if (const Pte* pte = p.ptes.Find(page)) return *pte;
  return std::nullopt;
}

Model::Variant Model::AlternativeAt(const Process& p, uint32_t page) const {
  const Doubt* d = p.doubts.Find(page);
  if (!d) return Primary(p, page);
  if (d->alt_none) return std::nullopt;
  return d->alt;
}

void Model::SetDoubt(int proc, uint32_t page, const Variant& alt, Grant why) {
  Process& p = st_.procs[proc];
  Variant prim = Primary(p, page);
  bool representable = true;
  if (alt && (alt->kind == PteKind::kPresent || alt->kind == PteKind::kSwap))
    representable = prim && prim->kind == alt->kind && prim->page == alt->page;
  if (SameVariant(prim, alt) || !representable || st_.VmaAt(p, page) < 0) {
    p.doubts.Erase(page);
    return;
  }
  Doubt d;
  d.alt_none = !alt;
  if (alt) d.alt = *alt;
  d.why = why;
  p.doubts[page] = d;
}

void Model::ResolveDoubt(int proc, uint32_t page, bool to_alt) {
  Process& p = st_.procs[proc];
  const Doubt* d = p.doubts.Find(page);
  if (!d) return;
  Doubt doubt = *d;
  p.doubts.Erase(page);
  if (!to_alt) {
    if (p.ptes.Find(page)) st_.TouchPt(p, page);  // a PTE there: so is its table
    return;
  }
  if (doubt.alt_none) {
    st_.ClearPte(p, page);
  } else {
    st_.SetPte(p, page, doubt.alt);
  }
}

std::vector<std::pair<uint32_t, Doubt>> Model::TakeDoubts(int proc, uint32_t lo, uint32_t hi) {
  Process& p = st_.procs[proc];
  std::vector<std::pair<uint32_t, Doubt>> out;
  for (auto it = p.doubts.LowerBound(lo); it != p.doubts.end() && it->first < hi; ++it) out.push_back(*it);
  p.doubts.EraseRange(lo, hi);
  return out;
}

uint32_t Model::DoubtfulMaps(uint32_t page_id) const {
  uint32_t n = 0;
  for (const Process& p : st_.procs) {
    for (auto& [page, d] : p.doubts) {
      const Pte* pte = p.ptes.Find(page);
      if (!pte || pte->kind != PteKind::kPresent || pte->page != page_id) continue;
      if (d.alt_none || d.alt.kind != PteKind::kPresent) n++;
    }
  }
  return n;
}

uint64_t Model::PagemapEntryOf(const Process& p, uint32_t page, const Variant& v) const {
  // pagemap_pte_hole()/pte_to_pagemap_entry() (docs/CONTRACT.md §3.3).
  int vi = st_.VmaAt(p, page);
  if (vi < 0) return 0;
  const Vma& vma = p.vmas[vi];
  if (vma.kind == MemKind::kHugetlb) return HugetlbPagemapEntry(vma, v);  // model/hugetlb.cc
  uint64_t e = 0;
  if (v) {
    const Pte* pte = &*v;
    switch (pte->kind) {
      case PteKind::kPresent:
        e |= kPmPresent;
        if (pte->page != kZeroPage) {
          const PageObj& pg = st_.pages[pte->page];
          if (!pg.anon) e |= kPmFile;
          // The primary world: every doubtful mapping present. A variant that
          // is not the table's PTE does not count itself twice.
          const Pte* cur = p.ptes.Find(page);
          uint32_t maps = pg.mapcount;
          if (!(cur && cur->kind == PteKind::kPresent && cur->page == pte->page)) maps++;
          if (maps == 1) e |= kPmMmapExclusive;
        }
        break;
      case PteKind::kSwap:
        e |= kPmSwap;
        break;
      case PteKind::kUffdMarker:
        e |= kPmSwap | kPmUffdWp;  // markers look like swap entries (§3.2)
        break;
      case PteKind::kGuard:
        e |= kPmSwap | (profile_.guard ? kPmGuardRegion : 0);
        break;
    }
    if (pte->soft_dirty) e |= kPmSoftDirty;
    if (pte->uffd_wp) e |= kPmUffdWp;
  }
  if (vma.soft_dirty) e |= kPmSoftDirty;
  if (!profile_.soft_dirty) e &= ~kPmSoftDirty;  // VM_SOFTDIRTY and _PAGE_SOFT_DIRTY are 0
  return e;
}

namespace {

// The page-cache pages the other world's access brought in and this one
// lacks (a fault there mapped its folio's neighbours: MayMapFromCache), and
// what its readahead may have read: `a` takes them, each page with only the
// page cache's reference (the PTEs follow in MergeWorld). It changes only
// `files`, `pages` and `free_pages`. False when a page id is taken here or
// a file page is another page here.
bool AdoptCache(MmState& a, const MmState& b) {
  if (a.files.size() != b.files.size()) return false;
  for (size_t f = 0; f < a.files.size(); f++) {
    FileObj& fa = a.files[f];
    const FileObj& fb = b.files[f];
    for (const auto& r : fb.readahead)
      if (std::find(fa.readahead.begin(), fa.readahead.end(), r) == fa.readahead.end()) fa.readahead.push_back(r);
    if (fa.cache == fb.cache) continue;
    for (const auto& [fp, id] : fb.cache) {
      if (const uint32_t* mine = fa.cache.Find(fp)) {
        if (*mine != id) return false;
        continue;
      }
      if (id < a.pages.size() && a.pages[id].in_use) return false;
      if (id >= a.pages.size()) a.pages.resize(id + 1);
      a.pages[id] = b.pages[id];
      a.pages[id].refs = 1;
      a.pages[id].mapcount = 0;
      a.free_pages.erase(std::remove(a.free_pages.begin(), a.free_pages.end(), id), a.free_pages.end());
      fa.cache[fp] = id;
    }
  }
  return true;
}

}  // namespace

bool Model::MergeWorld(const Model& other, Grant why) {
  const MmState& b = other.st_;
  // A copy only when the other world cached pages this one did not.
  std::optional<MmState> adopted;
  if (!(st_.files == b.files)) {
    adopted = st_;
    if (!AdoptCache(*adopted, b)) return false;
  }
  const MmState& a = adopted ? *adopted : st_;
  // Everything but the PTEs (and the page refcounts that follow them) must agree.
  if (a.procs.size() != b.procs.size() || !(a.files == b.files) || !(a.uffds == b.uffds) ||
      a.named_files != b.named_files || a.next_anon_vma != b.next_anon_vma)
    return false;
  size_t npages = std::max(a.pages.size(), b.pages.size());
  for (size_t id = 0; id < npages; id++) {
    PageObj pa = id < a.pages.size() ? a.pages[id] : PageObj{};
    PageObj pb = id < b.pages.size() ? b.pages[id] : PageObj{};
    if (!pa.in_use && !pb.in_use) continue;
    if (pa.in_use != pb.in_use || pa.anon != pb.anon || pa.lazyfree != pb.lazyfree || pa.dirty != pb.dirty ||
        !(pa.bytes == pb.bytes))
      return false;
  }
  struct Diff {
    int proc;
    uint32_t page;
    Variant prim, alt;
  };
  std::vector<Diff> diffs;
  for (size_t pi = 0; pi < a.procs.size(); pi++) {
    const Process& pa = a.procs[pi];
    const Process& pb = b.procs[pi];
    if (pa.alive != pb.alive || !(pa.vmas == pb.vmas) || !(pa.pt == pb.pt) || pa.fds != pb.fds ||
        pa.uffd != pb.uffd || pa.older_uffds != pb.older_uffds || pa.handler_uffds != pb.handler_uffds ||
        pa.uffd_unborrowed != pb.uffd_unborrowed || !(pa.huge_zero == pb.huge_zero) || !(pa.thp == pb.thp))
      return false;
    std::vector<uint32_t> pages;
    for (auto& [pg, pte] : pa.ptes) pages.push_back(pg);
    for (auto& [pg, pte] : pb.ptes) pages.push_back(pg);
    for (auto& [pg, d] : pa.doubts) pages.push_back(pg);
    for (auto& [pg, d] : pb.doubts) pages.push_back(pg);
    std::sort(pages.begin(), pages.end());
    pages.erase(std::unique(pages.begin(), pages.end()), pages.end());
    for (uint32_t pg : pages) {
      // The outcomes possible at this page in either world.
      std::vector<Variant> outs;
      auto add = [&](const Variant& v) {
        for (const Variant& o : outs)
          if (SameVariant(o, v)) return;
        outs.push_back(v);
      };
      add(Primary(pa, pg));
      add(AlternativeAt(pa, pg));
      add(other.Primary(pb, pg));
      add(other.AlternativeAt(pb, pg));
      if (outs.size() == 1) continue;
      if (outs.size() > 2) return false;
      // Keep a present page as the primary (it holds the page reference).
      Variant prim = outs[0], alt = outs[1];
      bool alt_mapped = alt && (alt->kind == PteKind::kPresent || alt->kind == PteKind::kSwap);
      bool prim_mapped = prim && (prim->kind == PteKind::kPresent || prim->kind == PteKind::kSwap);
      if (alt_mapped && !prim_mapped) std::swap(prim, alt);
      if (alt_mapped && prim_mapped && (alt->kind != prim->kind || alt->page != prim->page)) return false;
      if (!SameVariant(prim, Primary(pa, pg))) {
        // The primary comes from the other world: it must be installable here.
        if (prim && (prim->kind == PteKind::kPresent || prim->kind == PteKind::kSwap) &&
            (prim->page >= a.pages.size() || !a.pages[prim->page].in_use))
          return false;
      }
      diffs.push_back({static_cast<int>(pi), pg, prim, alt});
    }
  }
  // The adopted cache into this world's own state, field by field: callers
  // hold references to its processes and VMAs, which AdoptCache() leaves.
  if (adopted) {
    st_.files = std::move(adopted->files);
    st_.pages = std::move(adopted->pages);
    st_.free_pages = std::move(adopted->free_pages);
  }
  for (const Diff& d : diffs) {
    Process& p = st_.procs[d.proc];
    if (!SameVariant(d.prim, Primary(p, d.page))) {
      if (d.prim) st_.SetPte(p, d.page, *d.prim);
      else st_.ClearPte(p, d.page);
    }
    const Doubt* old = p.doubts.Find(d.page);
    if (!old) old = other.st_.procs[d.proc].doubts.Find(d.page);
    SetDoubt(d.proc, d.page, d.alt, old ? old->why : why);
  }
  return true;
}

}  // namespace mmdiff
