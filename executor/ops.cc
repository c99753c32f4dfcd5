// One handler per op kind: the real syscall, its result. Runs inside the
// processes under test: no allocation (see proc.h).
#include <fcntl.h>
#include <sched.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

#include "executor/kcov.h"
#include "executor/proc.h"
#include "executor/smaps.h"
#include "executor/uapi.h"
#include "prog/result.h"

namespace mmdiff::exec {
namespace {

constexpr int kProt[] = {PROT_NONE, PROT_READ, PROT_READ | PROT_WRITE, PROT_READ | PROT_EXEC,
                         PROT_READ | PROT_WRITE | PROT_EXEC};

int MadviseAdvice(Advice a) {
  switch (a) {
    case Advice::kDontneed: return MADV_DONTNEED;
    case Advice::kFree: return MADV_FREE;
    case Advice::kRemove: return MADV_REMOVE;
    case Advice::kWillneed: return MADV_WILLNEED;
    case Advice::kPageout: return MADV_PAGEOUT;
    case Advice::kCold: return MADV_COLD;
    case Advice::kPopulateRead: return MADV_POPULATE_READ;
    case Advice::kPopulateWrite: return MADV_POPULATE_WRITE;
    case Advice::kHugepage: return MADV_HUGEPAGE;
    case Advice::kNohugepage: return MADV_NOHUGEPAGE;
    case Advice::kDontfork: return MADV_DONTFORK;
    case Advice::kDofork: return MADV_DOFORK;
    case Advice::kWipeonfork: return MADV_WIPEONFORK;
    case Advice::kKeeponfork: return MADV_KEEPONFORK;
    case Advice::kGuardInstall: return MADV_GUARD_INSTALL;
    case Advice::kGuardRemove: return MADV_GUARD_REMOVE;
  }
  return -1;
}

uint64_t UffdApiFeatures(uint32_t f) {
  // PAGEFAULT_FLAG_WP only asks for the WP flag in fault messages; it is
  // always requested so sync WP faults can be told from missing faults.
  uint64_t out = UFFD_FEATURE_PAGEFAULT_FLAG_WP;
  if (f & kUffdWpAsync) out |= UFFD_FEATURE_WP_ASYNC;
  if (f & kUffdWpUnpopulated) out |= UFFD_FEATURE_WP_UNPOPULATED;
  if (f & kUffdWpHugetlbfsShmem) out |= UFFD_FEATURE_WP_HUGETLBFS_SHMEM;
  if (f & kUffdEventFork) out |= UFFD_FEATURE_EVENT_FORK;
  if (f & kUffdEventRemap) out |= UFFD_FEATURE_EVENT_REMAP;
  if (f & kUffdEventRemove) out |= UFFD_FEATURE_EVENT_REMOVE;
  if (f & kUffdEventUnmap) out |= UFFD_FEATURE_EVENT_UNMAP;
  return out;
}

void SetErrno(ExecResult* res) {
  res->kind = static_cast<uint8_t>(ResultKind::kErr);
  res->err = errno;
}

// 0 → ok, otherwise err with errno.
void OkOrErr(long ret, ExecResult* res) {
  if (ret < 0) SetErrno(res);
  else res->kind = static_cast<uint8_t>(ResultKind::kOk);
}

uint8_t* Alloc(uint8_t* area, size_t size, uint32_t* used, size_t bytes, uint32_t* off) {
  size_t start = (*used + 7) & ~size_t{7};
  if (start + bytes > size) return nullptr;
  *used = static_cast<uint32_t>(start + bytes);
  *off = static_cast<uint32_t>(start);
  return area + start;
}

uint8_t* DataAlloc(size_t bytes, uint32_t* off) {
  return Alloc(g_shared->data, kDataBytes, &g_shared->data_used, bytes, off);
}

uint8_t* CrossAlloc(size_t bytes, uint32_t* off) {
  return Alloc(g_shared->cross_data, kCrossBytes, &g_shared->cross_used, bytes, off);
}

// Where the op has an unfiltered scan answer: what smaps says each VMA
// overlapping [start, end) maps with PMDs (executor/smaps.cc says why smaps),
// read right after that answer.
void CrossSmaps(uint64_t start, uint64_t end, ExecResult* res) {
  if (!g_shared->may_map_pmd) return;
  uint32_t off;
  auto* vmas = reinterpret_cast<SmapsVma*>(CrossAlloc(kMaxSmapsVmas * sizeof(SmapsVma), &off));
  if (!vmas) return;
  int n = ReadSmapsHuge(start, end, vmas, kMaxSmapsVmas);
  if (n < 0) return;
  g_shared->cross_used = off + static_cast<uint32_t>(n) * sizeof(SmapsVma);  // give back the rest
  res->smaps = 1;
  res->smaps_off = off;
  res->smaps_count = static_cast<uint32_t>(n);
}

void OpenFileSlot(const Op& op, ExecResult* res) {
  int fd;
  if (op.kind == OpKind::kMemfd) {
    char name[16];
    snprintf(name, sizeof name, "mmdiff-%u", op.file);
    fd = memfd_create(name, 0);
  } else {
    char path[300];
    snprintf(path, sizeof path, "%s/f%u", g_shared->tmpdir, op.file);
    fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
  }
  if (fd < 0) return SetErrno(res);
  if (ftruncate(fd, static_cast<off_t>(op.npages) * kPageSize) < 0) {
    SetErrno(res);
    close(fd);
    return;
  }
  if (g_self.file_fds[op.file] >= 0) close(g_self.file_fds[op.file]);
  g_self.file_fds[op.file] = fd;
  res->kind = static_cast<uint8_t>(ResultKind::kOk);
}

void Access(const Op& op, uint32_t index, ExecResult* res) {
  bool write = op.kind == OpKind::kWrite;
  uint32_t before[3];
  for (int k = 0; k < 3; k++) before[k] = g_shared->faults[g_self.proc][k].load();
  uint8_t loaded = 0;
  int sig = GuardedAccess(PageAddress(op.page) + op.offset, write, WriteToken(op, index), &loaded);
  static constexpr uint8_t kFaultBits[3] = {kFaultWp, kFaultMissing, kFaultMinor};
  for (int k = 0; k < 3; k++)
    if (g_shared->faults[g_self.proc][k].load() != before[k]) res->uffd_faults |= kFaultBits[k];
  if (sig) {
    res->kind = static_cast<uint8_t>(ResultKind::kFault);
    res->signal = sig;
  } else if (write) {
    res->kind = static_cast<uint8_t>(ResultKind::kOk);
  } else {
    res->kind = static_cast<uint8_t>(ResultKind::kValue);
    res->value = loaded;
  }
}

void Fork(ExecResult* res) {
  uint32_t child = g_shared->nprocs++;
  g_shared->forking_child = child;
  pid_t pid = fork();
  if (pid < 0) {
    g_shared->nprocs--;
    return SetErrno(res);
  }
  if (pid == 0) {
    g_self.proc = static_cast<int>(child);
    g_self.forked_with_event = g_self.uffd_event_fork;
    OpenProcFiles();
    UffdAfterFork();
    KcovAfterFork(g_shared);
    return;
  }
  g_shared->pids[child] = pid;
  // A FORK message for this child may have been read but not yet recorded
  // under forking_child: wait (briefly) until every handler is done, or a
  // next fork could claim it for its own child ([EMP] 6.1.192, an EBADF of
  // the first child's uffd ioctls after two forks).
  WaitUntil([] { return g_shared->handlers_draining.load() == 0; }, 200);
  res->kind = static_cast<uint8_t>(ResultKind::kValue);
  res->value = child;
}

void UffdOpen(const Op& op, ExecResult* res) {
  int fd = static_cast<int>(syscall(SYS_userfaultfd, O_CLOEXEC | O_NONBLOCK));
  if (fd < 0) return SetErrno(res);
  struct uffdio_api api = {};
  api.api = UFFD_API;
  api.features = UffdApiFeatures(op.uffd_features);
  if (ioctl(fd, UFFDIO_API, &api) < 0) {
    SetErrno(res);
    close(fd);
    return;
  }
  UffdAdopt(fd, g_self.proc);
  // Any of the process's contexts may report forks (older ones stay open).
  g_self.uffd_event_fork |= (op.uffd_features & kUffdEventFork) != 0;
  res->kind = static_cast<uint8_t>(ResultKind::kOk);
}

// PAGEMAP_SCAN of [start, end): `vec` (room
// for `vec_len` regions) receives them. Returns the ioctl's value (or -1,
// errno) and sets *walk_end.
// The filter (req=, inv=, any=) is the op's; `flags` the PM_SCAN_* flags.
long ScanRange(const Op& op, uint64_t flags, uint64_t start, uint64_t end, uint8_t* vec, uint32_t vec_len,
               uint32_t max_pages, uint32_t ret_mask, uint64_t* walk_end) {
  struct pm_scan_arg arg = {};
  arg.size = sizeof arg;
  arg.flags = flags;
  arg.start = start;
  arg.end = end;
  arg.vec = reinterpret_cast<uint64_t>(vec);
  arg.vec_len = vec_len;
  arg.max_pages = max_pages;
  arg.category_inverted = op.scan_inv;
  arg.category_mask = op.scan_req;
  arg.category_anyof_mask = op.scan_any;
  arg.return_mask = ret_mask;
  long ret = ioctl(g_self.pagemap_fd, PAGEMAP_SCAN, &arg);
  *walk_end = arg.walk_end;
  return ret;
}

// After a pagemap op: the same range through PAGEMAP_SCAN, every category
// the kernel accepts, no filter, room for one region per page.
void CrossScan(const Op& op, uint32_t npages, ExecResult* res) {
  if (!g_shared->scan_default_ret || npages == 0) return;
  uint8_t* vec = CrossAlloc(size_t{npages} * sizeof(page_region), &res->cross_off);
  if (!vec) return;
  Op plain = {};
  uint64_t walk_end = 0;
  long ret = ScanRange(plain, 0, PageAddress(op.page), PageAddress(op.page + npages), vec, npages, 0,
                       g_shared->scan_default_ret, &walk_end);
  res->cross_ret = g_shared->scan_default_ret;
  if (ret < 0) {
    res->cross = 2;  // CrossAnswer::kFailed
    res->cross_err = errno;
    return;
  }
  res->cross = 1;
  res->cross_count = static_cast<uint32_t>(ret);
  res->cross_walk_end = walk_end;
  CrossSmaps(PageAddress(op.page), PageAddress(op.page + npages), res);
}

void Pagemap(const Op& op, ExecResult* res) {
  uint32_t off;
  uint8_t* buf = DataAlloc(size_t{op.npages} * 8, &off);
  if (!buf) {
    res->kind = static_cast<uint8_t>(ResultKind::kErr);
    res->err = ENOSPC;
    return;
  }
  off_t pos = static_cast<off_t>(kArenaBase / kPageSize + op.page) * 8;
  ssize_t n = pread(g_self.pagemap_fd, buf, size_t{op.npages} * 8, pos);
  if (n < 0) return SetErrno(res);
  res->kind = static_cast<uint8_t>(ResultKind::kPagemap);
  res->data_off = off;
  res->data_count = static_cast<uint32_t>(n / 8);
  CrossScan(op, res->data_count, res);
}

// A scan with a filter (req=, inv=, any=) or a ret= without some category:
// the same walk, [start, walk_end) with its check_wpasync, unfiltered, every
// category, room for a region per page (at most kMaxObservedPages), for the
// mask comparison. Then, with the op's own answer or this one, smaps.
void CrossUnfiltered(const Op& op, uint32_t ret_mask, ExecResult* res) {
  uint64_t start = PageAddress(op.page);
  bool filtered = op.scan_req || op.scan_inv || op.scan_any || ret_mask != g_shared->scan_default_ret;
  if (res->walk_end <= start) return;
  if (filtered) {
    uint64_t pages = (res->walk_end - start) / kPageSize;
    uint32_t len = pages < kMaxObservedPages ? static_cast<uint32_t>(pages) : kMaxObservedPages;
    uint8_t* vec = CrossAlloc(size_t{len} * sizeof(page_region), &res->unfiltered_off);
    if (!vec) return;
    Op plain = {};
    uint64_t flags = (op.flags & kFlagCheckWpasync) ? PM_SCAN_CHECK_WPASYNC : 0;
    long ret = ScanRange(plain, flags, start, res->walk_end, vec, len, 0, g_shared->scan_default_ret,
                         &res->unfiltered_end);
    if (ret < 0) return;
    res->unfiltered = 1;
    res->unfiltered_count = static_cast<uint32_t>(ret);
  }
  CrossSmaps(start, res->walk_end, res);
}

// After a scan op: the pagemap words of what it walked, [start, walk_end)
// (at most kMaxObservedPages). A scan split by max= or a small vec= without
// wp_matching is also asked again unsplit, and resumed at its walk_end until
// the end, for the scan-vs-scan comparison.
void CrossPagemap(const Op& op, uint32_t vec_len, ExecResult* res) {
  uint64_t start = PageAddress(op.page), end = PageAddress(op.page + op.npages);
  uint32_t ret_mask = (op.flags & kFlagHasRet) ? op.scan_ret : g_shared->scan_default_ret;
  res->cross_ret = ret_mask;
  if (res->walk_end < start || res->walk_end > end) return;
  uint64_t pages = (res->walk_end - start) / kPageSize;
  if (pages > kMaxObservedPages) pages = kMaxObservedPages;
  uint8_t* words = pages ? CrossAlloc(pages * 8, &res->cross_off) : nullptr;
  if (pages && !words) return;
  if (pages) {
    ssize_t n = pread(g_self.pagemap_fd, words, pages * 8, static_cast<off_t>(start / kPageSize) * 8);
    if (n < 0) {
      res->cross = 2;
      res->cross_err = errno;
      return;
    }
    res->cross_count = static_cast<uint32_t>(n / 8);
  }
  res->cross = 1;
  // wp_matching changes what a second scan sees; vec=0 reports nothing.
  if (vec_len == 0 || (op.flags & kFlagWpMatching)) return;
  CrossUnfiltered(op, ret_mask, res);
  bool split = op.scan_max != 0 || vec_len < op.npages;
  if (!split) return;
  uint32_t whole_len = op.npages < kMaxObservedPages ? op.npages : kMaxObservedPages;
  uint8_t* whole = CrossAlloc(size_t{whole_len} * sizeof(page_region), &res->whole_off);
  uint8_t* resumed = CrossAlloc(size_t{kMaxObservedPages} * sizeof(page_region), &res->resumed_off);
  if (!whole || !resumed) return;
  uint64_t flags = (op.flags & kFlagCheckWpasync) ? PM_SCAN_CHECK_WPASYNC : 0;
  long ret = ScanRange(op, flags, start, end, whole, whole_len, 0, ret_mask, &res->whole_end);
  if (ret < 0) return;
  res->whole_count = static_cast<uint32_t>(ret);
  // Resume the split scan where it stopped, as a caller would, until the
  // end, no progress, or the regions fill kMaxObservedPages.
  uint64_t at = res->walk_end;
  uint32_t count = 0;
  while (at < end && count + vec_len <= kMaxObservedPages) {
    uint64_t next = at;
    ret = ScanRange(op, flags, at, end, resumed + size_t{count} * sizeof(page_region), vec_len, op.scan_max,
                    ret_mask, &next);
    if (ret < 0) return;
    count += static_cast<uint32_t>(ret);
    if (next <= at) break;
    at = next;
  }
  res->resplit = 1;
  res->resumed_count = count;
  res->resumed_end = at;
}

void Scan(const Op& op, ExecResult* res) {
  uint32_t vec_len = (op.flags & kFlagHasVec) ? op.scan_vec : op.npages;
  if (vec_len > kMaxObservedPages) vec_len = kMaxObservedPages;
  uint32_t off = 0;
  uint8_t* vec = vec_len ? DataAlloc(size_t{vec_len} * sizeof(page_region), &off) : nullptr;
  if (vec_len && !vec) {
    res->kind = static_cast<uint8_t>(ResultKind::kErr);
    res->err = ENOSPC;
    return;
  }
  uint64_t flags = ((op.flags & kFlagWpMatching) ? PM_SCAN_WP_MATCHING : 0) |
                   ((op.flags & kFlagCheckWpasync) ? PM_SCAN_CHECK_WPASYNC : 0);
  uint32_t ret_mask = (op.flags & kFlagHasRet) ? op.scan_ret : g_shared->scan_default_ret;
  uint64_t walk_end = 0;
  long ret = ScanRange(op, flags, PageAddress(op.page), PageAddress(op.page + op.npages), vec, vec_len,
                       op.scan_max, ret_mask, &walk_end);
  if (ret < 0) return SetErrno(res);
  res->kind = static_cast<uint8_t>(ResultKind::kValue);
  res->is_scan = 1;
  res->value = ret;
  res->data_off = off;
  res->data_count = static_cast<uint32_t>(ret);
  res->walk_end = walk_end;
  CrossPagemap(op, vec_len, res);
}

}  // namespace

void ExecuteOp(const Op& op, uint32_t index, ExecResult* res) {
  void* addr = reinterpret_cast<void*>(PageAddress(op.page));
  size_t len = size_t{op.npages} * kPageSize;
  int fd = g_self.file_fds[op.file];
  switch (op.kind) {
    case OpKind::kRequires:
      res->kind = static_cast<uint8_t>(ResultKind::kOk);
      return;
    case OpKind::kMmap: {
      int flags = (op.shared ? MAP_SHARED : MAP_PRIVATE) |
                  ((op.flags & kFlagFixed) ? MAP_FIXED : MAP_FIXED_NOREPLACE);
      if (op.backing == Backing::kAnon) flags |= MAP_ANONYMOUS, fd = -1;
      if (op.flags & kFlagPopulate) flags |= MAP_POPULATE;
      if (op.flags & kFlagNoreserve) flags |= MAP_NORESERVE;
      if (op.flags & kFlagHugetlb) flags |= MAP_HUGETLB;
      void* p = mmap(addr, len, kProt[static_cast<int>(op.prot)], flags, fd,
                     static_cast<off_t>(op.file_pgoff) * kPageSize);
      if (p == MAP_FAILED) return SetErrno(res);
      if (p != addr) {  // a kernel without MAP_FIXED_NOREPLACE treats it as a hint
        munmap(p, len);
        res->kind = static_cast<uint8_t>(ResultKind::kErr);
        res->err = EEXIST;
        return;
      }
      res->kind = static_cast<uint8_t>(ResultKind::kOk);
      return;
    }
    case OpKind::kMunmap:
      return OkOrErr(munmap(addr, len), res);
    case OpKind::kMprotect:
      return OkOrErr(mprotect(addr, len, kProt[static_cast<int>(op.prot)]), res);
    case OpKind::kMremap: {
      int flags = ((op.flags & kFlagMove) ? MREMAP_MAYMOVE | MREMAP_FIXED : 0) |
                  ((op.flags & kFlagDontunmap) ? MREMAP_DONTUNMAP : 0);
      void* want = (op.flags & kFlagMove) ? reinterpret_cast<void*>(PageAddress(op.new_page)) : addr;
      void* p = mremap(addr, len, size_t{op.new_npages} * kPageSize, flags, want);
      if (p == MAP_FAILED) return SetErrno(res);
      res->kind = static_cast<uint8_t>(ResultKind::kOk);
      if (p != want) {  // cannot happen without MAYMOVE alone; report rather than hide it
        res->kind = static_cast<uint8_t>(ResultKind::kValue);
        res->value = static_cast<int64_t>((reinterpret_cast<uint64_t>(p) - kArenaBase) / kPageSize);
      }
      return;
    }
    case OpKind::kMadvise:
      return OkOrErr(madvise(addr, len, MadviseAdvice(op.advice)), res);
    case OpKind::kRead:
    case OpKind::kWrite:
      return Access(op, index, res);
    case OpKind::kFork:
      return Fork(res);
    case OpKind::kExit:
      res->kind = static_cast<uint8_t>(ResultKind::kOk);
      return;  // the turn loop exits after passing the turn on
    case OpKind::kClearRefs: {
      char buf[4];
      int n = snprintf(buf, sizeof buf, "%u", op.value);
      ssize_t w = write(g_self.clear_refs_fd, buf, n);  // clear_refs_write ignores the offset
      if (w < 0) return SetErrno(res);
      res->kind = static_cast<uint8_t>(ResultKind::kOk);
      return;
    }
    case OpKind::kMemfd:
    case OpKind::kFile:
      return OpenFileSlot(op, res);
    case OpKind::kFtruncate:
      return OkOrErr(ftruncate(fd, static_cast<off_t>(op.npages) * kPageSize), res);
    case OpKind::kFwrite: {
      uint8_t b = WriteToken(op, index);
      return OkOrErr(pwrite(fd, &b, 1, static_cast<off_t>(op.page) * kPageSize) == 1 ? 0 : -1, res);
    }
    case OpKind::kFpunch:
      return OkOrErr(fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
                               static_cast<off_t>(op.page) * kPageSize, len),
                     res);
    case OpKind::kUffdOpen:
      return UffdOpen(op, res);
    case OpKind::kUffdRegister: {
      struct uffdio_register reg = {};
      reg.range.start = PageAddress(op.page);
      reg.range.len = len;
      reg.mode = op.uffd_modes;  // UffdMode values are UFFDIO_REGISTER_MODE_*
      return OkOrErr(ioctl(UffdForOps(), UFFDIO_REGISTER, &reg), res);
    }
    case OpKind::kUffdUnregister: {
      struct uffdio_range range = {PageAddress(op.page), len};
      return OkOrErr(ioctl(UffdForOps(), UFFDIO_UNREGISTER, &range), res);
    }
    case OpKind::kUffdWp: {
      struct uffdio_writeprotect wp = {};
      wp.range.start = PageAddress(op.page);
      wp.range.len = len;
      wp.mode = ((op.flags & kFlagWpOn) ? UFFDIO_WRITEPROTECT_MODE_WP : 0) |
                ((op.flags & kFlagDontwake) ? UFFDIO_WRITEPROTECT_MODE_DONTWAKE : 0);
      return OkOrErr(ioctl(UffdForOps(), UFFDIO_WRITEPROTECT, &wp), res);
    }
    case OpKind::kPagemap:
      return Pagemap(op, res);
    case OpKind::kScan:
      return Scan(op, res);
  }
}

}  // namespace mmdiff::exec
