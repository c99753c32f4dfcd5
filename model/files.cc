// memfd/file slots and file-level ops: create, ftruncate, pwrite, punch hole
// (shmem: mm/shmem.c; regular files: mm/truncate.c).
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

void Model::UnmapMapping(int32_t obj, uint32_t lo, uint32_t hi, bool even_cows) {
  // unmap_mapping_range(): every process, every VMA of the file, the PTEs of
  // file pages [lo, hi); private COW copies only for truncation (even_cows).
  // uffd-wp markers of those pages go too (truncation drops markers, §4.6);
  // guard markers stay.
  for (Process& p : st_.procs) {
    if (!p.alive) continue;
    for (const Vma& v : p.vmas) {
      if (v.obj != obj) continue;
      uint64_t vlo = v.pgoff, vhi = v.pgoff + (v.end - v.start);
      uint64_t a = std::max<uint64_t>(lo, vlo), b = std::min<uint64_t>(hi, vhi);
      if (a >= b) continue;
      uint32_t first = v.start + static_cast<uint32_t>(a - vlo);
      uint32_t last = v.start + static_cast<uint32_t>(b - vlo);
      std::vector<uint32_t> zap;
      for (auto it = p.ptes.LowerBound(first); it != p.ptes.end() && it->first < last; ++it) {
        const Pte& pte = it->second;
        if (pte.kind == PteKind::kGuard) continue;
        bool cow = (pte.kind == PteKind::kPresent || pte.kind == PteKind::kSwap) &&
                   (pte.page == kZeroPage || st_.pages[pte.page].anon);
        if (cow && !even_cows) continue;
        zap.push_back(it->first);
      }
      for (uint32_t page : zap) st_.ClearPte(p, page);
    }
  }
}

Result Model::DoFileCreate(Step& s) {
  const Op& op = s.op;
  if (!s.apply) return Ok();
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
    f.kind = op.kind == OpKind::kFile ? MemKind::kFile : MemKind::kMemfd;
    st_.files.push_back(std::move(f));
    if (op.kind == OpKind::kFile) st_.named_files[op.file] = obj;
  }
  st_.files[obj].size = op.npages;  // ftruncate(N pages)
  p.fds[op.file] = obj;
  return Ok();
}

Result Model::DoFtruncate(Step& s) {
  const Op& op = s.op;
  int32_t obj = st_.procs[op.proc].fds[op.file];
  if (obj < 0) return Err(EBADF);
  if (!s.apply) return Ok();
  FileObj& f = st_.files[obj];
  if (op.npages < f.size) {
    // truncate_pagecache(): unmap_mapping_range(..., even_cows=1), then drop
    // the pages.
    UnmapMapping(obj, op.npages, UINT32_MAX, /*even_cows=*/true);
    st_.DropCache(obj, op.npages, UINT32_MAX);
  }
  f.size = op.npages;
  return Ok();
}

Result Model::DoFwrite(Step& s) {
  const Op& op = s.op;
  int32_t obj = st_.procs[op.proc].fds[op.file];
  if (obj < 0) return Err(EBADF);
  if (!s.apply) return Ok();
  // pwrite() of one byte at the start of file page `page`: extends the file.
  FileObj& f = st_.files[obj];
  if (op.page + 1 > f.size) f.size = op.page + 1;
  uint32_t id = st_.CachePage(obj, op.page);
  st_.pages[id].bytes.Set(0, WriteToken(op, s.index));
  st_.pages[id].dirty = true;
  return Ok();
}

Result Model::DoFpunch(Step& s) {
  const Op& op = s.op;
  int32_t obj = st_.procs[op.proc].fds[op.file];
  if (obj < 0) return Err(EBADF);
  if (op.npages == 0) return Err(EINVAL);  // vfs_fallocate(): len <= 0
  if (!s.apply) return Ok();
  // PUNCH_HOLE|KEEP_SIZE: unmap_mapping_range(..., even_cows=0), drop pages.
  uint32_t lo = op.page, hi = op.page + op.npages;
  UnmapMapping(obj, lo, hi, /*even_cows=*/false);
  st_.DropCache(obj, lo, hi);
  return Ok();
}

}  // namespace mmdiff
