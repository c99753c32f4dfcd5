// The part of kcov.h that runs in the processes under test: no allocation.
#include "executor/kcov.h"

#include <fcntl.h>
#include <linux/kcov.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

namespace mmdiff::exec {
namespace {

// Words of a process's trace buffer (word 0 is the count; kernel/kcov.c
// __sanitizer_cov_trace_pc stops writing when it is full): 2 MiB, room for
// an op that walks a few thousand pages under every instrumented function.
constexpr unsigned long kKcovWords = 1ul << 18;

// This process's device and buffer (each process of a program has its own;
// a fork's child gets copies of the parent's, which KcovAfterFork drops).
int g_fd = -1;
uint64_t* g_area = nullptr;

void Stop() {
  if (g_area) munmap(g_area, kKcovWords * sizeof(uint64_t));
  if (g_fd >= 0) close(g_fd);
  g_area = nullptr;
  g_fd = -1;
}

}  // namespace

void KcovStart(ExecShared* shared) {
  if (!shared->kcov_on) return;
  g_fd = open(kKcovPath, O_RDWR | O_CLOEXEC);
  if (g_fd < 0) return;
  void* p = MAP_FAILED;
  if (ioctl(g_fd, KCOV_INIT_TRACE, kKcovWords) == 0)
    p = mmap(nullptr, kKcovWords * sizeof(uint64_t), PROT_READ | PROT_WRITE, MAP_SHARED, g_fd, 0);
  if (p == MAP_FAILED) {
    close(g_fd);
    g_fd = -1;
    return;
  }
  g_area = static_cast<uint64_t*>(p);
  if (ioctl(g_fd, KCOV_ENABLE, KCOV_TRACE_PC) != 0) {
    Stop();
    return;
  }
  __atomic_store_n(&g_area[0], 0, __ATOMIC_RELAXED);
}

void KcovAddEdge(ExecShared* shared, uint64_t prev_pc, uint64_t pc) {
  // Fibonacci hashing of the edge: one multiply, the top bits pick the bit.
  uint64_t h = ((prev_pc << 1) ^ pc) * 0x9e3779b97f4a7c15ull;
  uint32_t i = static_cast<uint32_t>(h >> (64 - kKcovBitsLog2));
  shared->kcov[i / 64] |= uint64_t{1} << (i % 64);
}

void KcovCollect(ExecShared* shared) {
  if (!g_area) return;
  // The kernel appends under this task only; the count is read once, and
  // what this loop's own syscalls add (none: it makes none) is not counted.
  uint64_t n = __atomic_load_n(&g_area[0], __ATOMIC_RELAXED);
  if (n > kKcovWords - 1) n = kKcovWords - 1;
  uint64_t prev = 0;
  for (uint64_t i = 0; i < n; i++) {
    uint64_t pc = g_area[1 + i];
    KcovAddEdge(shared, prev, pc);
    prev = pc;
  }
  __atomic_store_n(&g_area[0], 0, __ATOMIC_RELAXED);
}

void KcovAfterFork(ExecShared* shared) {
  // The inherited fd is the parent's device (KCOV_ENABLE'd by the parent's
  // task, kernel/kcov.c kcov_ioctl_locked: -EBUSY for anyone else), and the
  // inherited mapping is the parent's buffer.
  Stop();
  KcovStart(shared);
}

}  // namespace mmdiff::exec
