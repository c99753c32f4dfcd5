// memfd/file slots and file-level ops: create, ftruncate, pwrite, punch hole
// (shmem: mm/shmem.c; regular files: mm/truncate.c).
#include <algorithm>
#include <cerrno>

#include "model/model.h"
#include "model/result_make.h"

namespace mmdiff {
void Model::UnmapMapping(int32_t obj, uint32_t lo, uint32_t hi, bool even_cows) {
  // unmap_mapping_range(): every process, every VMA of the file, the PTEs of
  // file pages [lo, hi); private COW copies only for truncation (even_cows).
  // The contract: the page is dropped, and so are the uffd-wp markers of its
  // PTEs (ZAP_FLAG_DROP_MARKER "when we will completely drop the page ...
  // either by truncation", include/linux/mm.h; docs/CONTRACT.md §5.5); guard
  // markers stay. Kernels zap without DROP_MARKER first, so a uffd-wp'd PTE
  // leaves a marker and markers stay (quirk
  // shmem_drop_page_keeps_uffd_wp_marker): an alternative where the profile
  // has the quirk.
  bool quirk = profile_.quirks.Has(Quirk::kShmemDropPageKeepsUffdWpMarker);
  for (size_t pi = 0; pi < st_.procs.size(); pi++) {
    Process& p = st_.procs[pi];
    if (!p.alive) continue;
    for (size_t vi = 0; vi < p.vmas.size(); vi++) {
      const Vma v = p.vmas[vi];
      if (v.obj != obj) continue;
      uint64_t vlo = v.pgoff, vhi = v.pgoff + (v.end - v.start);
      uint64_t a = std::max<uint64_t>(lo, vlo), b = std::min<uint64_t>(hi, vhi);
      if (a >= b) continue;
      uint32_t first = v.start + static_cast<uint32_t>(a - vlo);
      uint32_t last = v.start + static_cast<uint32_t>(b - vlo);
      auto contract = [&](const Variant& pte) -> Variant {
        if (!pte || pte->kind == PteKind::kGuard) return pte;
        // should_zap_folio(): without even_cows only anonymous (COW) folios
        // stay; the zero page (no folio) goes too.
        bool cow = (pte->kind == PteKind::kPresent || pte->kind == PteKind::kSwap) &&
                   pte->page != kZeroPage && st_.pages[pte->page].anon;
        if (cow && !even_cows) return pte;
        return std::nullopt;
      };
      auto buggy = [&](const Variant& pte) -> Variant {
        // zap_install_uffd_wp_if_needed() without DROP_MARKER (mm/memory.c).
        // An existing marker is kept in any file VMA, registered or not
        // (zap_nonpresent_ptes(): "for file: only drop the marker if
        // explicitly requested"); a uffd-wp'd PTE leaves a fresh one only in
        // a uffd-wp VMA (pte_install_uffd_wp_if_needed()).
        Variant c = contract(pte);
        if (c || !pte || v.IsAnonymous()) return c;
        if (pte->kind == PteKind::kUffdMarker) return pte;  // kept as it is (its swap soft-dirty bit too)
        if (pte->uffd_wp && v.UffdWp()) return Pte{PteKind::kUffdMarker, false, true, kZeroPage};  // a fresh marker
        return c;
      };
      auto doubts = TakeDoubts(static_cast<int>(pi), first, last);
      std::vector<uint32_t> pages;
      for (auto it = p.ptes.LowerBound(first); it != p.ptes.end() && it->first < last; ++it) pages.push_back(it->first);
      for (auto& [page, d] : doubts) pages.push_back(page);
      std::sort(pages.begin(), pages.end());
      pages.erase(std::unique(pages.begin(), pages.end()), pages.end());
      for (uint32_t page : pages) {
        Variant prim = Primary(p, page);
        const Doubt* d = nullptr;
        for (auto& [dp, dd] : doubts)
          if (dp == page) d = &dd;
        Variant alt_before = d ? (d->alt_none ? Variant{} : Variant{d->alt}) : prim;
        Variant now = contract(prim);
        // The other outcomes: the doubt's alternative, and the quirk's.
        Variant alt = contract(alt_before);
        Grant why = d ? d->why : Grant::Of(Quirk::kShmemDropPageKeepsUffdWpMarker);
        if (quirk) {
          Variant q = buggy(prim);
          if (!q || q->kind != PteKind::kUffdMarker) q = buggy(alt_before);
          if (q && q->kind == PteKind::kUffdMarker && !(now && *now == *q)) {
            alt = q;
            why = Grant::Of(Quirk::kShmemDropPageKeepsUffdWpMarker);
          }
        }
        if (!(prim && now && *prim == *now)) {
          st_.ClearPte(p, page);
          if (now) st_.SetPte(p, page, *now);
        }
        SetDoubt(static_cast<int>(pi), page, alt, why);
      }
    }
  }
}

Result Model::DoFileCreate(Step& s) {
  const Op& op = s.op;
  Process& p = st_.procs[op.proc];
  CloseFd(op.proc, op.file);
  int32_t obj;
  if (op.kind == OpKind::kFile && st_.named_files[op.file] >= 0) {
    // open(O_CREAT|O_TRUNC) of the slot's existing file: truncate to 0 first.
    obj = st_.named_files[op.file];
    UnmapMapping(obj, 0, UINT32_MAX, /*even_cows=*/true);
    st_.DropCache(obj, 0, UINT32_MAX);
    st_.files[obj].size = 0;
  } else {
    obj = static_cast<int32_t>(st_.files.size());
    FileObj f;
    // A file slot on tmpfs is a shmem inode (mm/shmem.c): the model treats it
    // as the memfd it behaves like.
    bool regular = op.kind == OpKind::kFile && !profile_.file_slots_shmem;
    f.kind = regular ? MemKind::kFile : MemKind::kMemfd;
    f.file_slot = op.kind == OpKind::kFile;
    st_.files.push_back(std::move(f));
    if (op.kind == OpKind::kFile) st_.named_files[op.file] = obj;
  }
  st_.files[obj].size = op.npages;  // ftruncate(N pages)
  st_.files[obj].readahead.clear();
  p.fds[op.file] = obj;
  p.fd_open[op.file] = st_.next_open++;  // a new struct file, even of the slot's old inode
  return Ok();
}

Result Model::DoFtruncate(Step& s) {
  const Op& op = s.op;
  int32_t obj = st_.procs[op.proc].fds[op.file];
  if (obj < 0) return Err(EBADF);  // fs/open.c do_sys_ftruncate(): fdget() first
  FileObj& f = st_.files[obj];
  if (op.npages < f.size) {
    // truncate_pagecache(): unmap_mapping_range(..., even_cows=1), then drop
    // the pages.
    UnmapMapping(obj, op.npages, UINT32_MAX, /*even_cows=*/true);
    st_.DropCache(obj, op.npages, UINT32_MAX);
    MaySplitLargeFolios(obj, op.npages, op.npages + 1);  // the folio the new end cuts
  }
  f.size = op.npages;
  return Ok();
}

Result Model::DoFwrite(Step& s) {
  const Op& op = s.op;
  int32_t obj = st_.procs[op.proc].fds[op.file];
  if (obj < 0) return Err(EBADF);  // fs/read_write.c ksys_pwrite64(): fdget() first
  // pwrite() of one byte at the start of file page `page`: extends the file.
  FileObj& f = st_.files[obj];
  if (op.page + 1 > f.size) f.size = op.page + 1;
  uint32_t id = st_.CachePage(obj, op.page);
  st_.pages[id].bytes.Set(0, WriteToken(op, s.index));
  st_.pages[id].dirty = true;
  st_.pages[id].maybe_dropped = false;
  return Ok();
}

void Model::MaySplitLargeFolios(int32_t obj, uint32_t lo, uint32_t hi) {
  // truncate_inode_partial_folio() splits a large folio the range cuts;
  // split_folio() → unmap_folio() leaves every page of a file folio unmapped
  // in every mapping (try_to_unmap(), no migration entries: "file pages can
  // simply be left unmapped, then faulted back on demand", mm/huge_memory.c).
  // A folio is at most PMD-sized and naturally aligned in the file: the
  // pages of the 2 MiB-aligned file blocks holding lo and hi - 1 may go.
  // Private COW copies are anonymous folios of their own ([EMP] 6.18.44 on
  // ext4: a hole at file page 3 of a MADV_HUGEPAGE mapping written at pages
  // 1 and 3 unmapped page 1).
  if (lo >= hi) return;
  for (uint32_t block : {lo / kPagesPerPmd, (hi - 1) / kPagesPerPmd}) {
    uint32_t b_lo = block * kPagesPerPmd, b_hi = b_lo + kPagesPerPmd;
    for (size_t pi = 0; pi < st_.procs.size(); pi++) {
      Process& p = st_.procs[pi];
      if (!p.alive) continue;
      for (const Vma& v : p.vmas) {  // SetDoubt() changes no VMA and no PTE
        if (v.obj != obj || !MayHaveLargeFolios(v)) continue;
        for (auto it = p.ptes.LowerBound(v.start); it != p.ptes.end() && it->first < v.end; ++it) {
          uint32_t fp = v.FilePage(it->first);
          const Pte& pte = it->second;
          if (fp < b_lo || fp >= b_hi || (fp >= lo && fp < hi) || pte.kind != PteKind::kPresent ||
              pte.page == kZeroPage || st_.pages[pte.page].anon || p.doubts.Find(it->first))
            continue;
          SetDoubt(static_cast<int>(pi), it->first, std::nullopt, Grant::Of(Allowance::kLargeFolioSplitMayUnmap));
        }
      }
    }
  }
}

Result Model::DoFpunch(Step& s) {
  const Op& op = s.op;
  int32_t obj = st_.procs[op.proc].fds[op.file];
  if (obj < 0) return Err(EBADF);  // fs/open.c ksys_fallocate(): fdget() first
  if (op.npages == 0) return Err(EINVAL);  // fs/open.c vfs_fallocate(): len <= 0
  // PUNCH_HOLE|KEEP_SIZE: unmap_mapping_range(..., even_cows=0), drop pages.
  uint32_t lo = op.page, hi = op.page + op.npages;
  UnmapMapping(obj, lo, hi, /*even_cows=*/false);
  st_.DropCache(obj, lo, hi);
  MaySplitLargeFolios(obj, lo, hi);
  return Ok();
}

void Model::CloseFd(int proc, int slot) { st_.procs[proc].fds[slot] = -1; }

}  // namespace mmdiff
