#include "executor/bare_loop.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cstdint>

#include "executor/uapi.h"
#include "prog/op.h"

namespace mmdiff::exec {

const char kBareLoopProgram[] =
    "mmap 0 16 rw anon private\n"
    "write 0\n"
    "write 1\n"
    "write 2\n"
    "clear_refs 4\n"
    "write 3\n"
    "write 4\n"
    "pagemap 0 16\n"
    "read 5\n"
    "munmap 0 16\n";

namespace {

double Now() {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec * 1e-9;
}

// Same syscalls as the executor makes for kBareLoopProgram in its p0: open
// pagemap and clear_refs, then the ten ops, then exit.
[[noreturn]] void BareProgram() {
  int pagemap = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
  int clear_refs = open("/proc/self/clear_refs", O_WRONLY | O_CLOEXEC);
  char* base = reinterpret_cast<char*>(kArenaBase);
  char* p = static_cast<char*>(
      mmap(base, 16 * kPageSize, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0));
  if (p != base) _exit(1);
  for (int i = 0; i < 3; i++) p[i * kPageSize] = static_cast<char>(i + 1);
  if (write(clear_refs, "4", 1) != 1) _exit(1);
  p[3 * kPageSize] = 4;
  p[4 * kPageSize] = 5;
  uint64_t entries[16];
  if (pread(pagemap, entries, sizeof entries, reinterpret_cast<uintptr_t>(p) / kPageSize * 8) != sizeof entries)
    _exit(1);
  volatile char sink = p[5 * kPageSize];
  (void)sink;
  munmap(p, 16 * kPageSize);
  _exit(0);
}

}  // namespace

long RunBareLoop(double seconds) {
  long n = 0;
  double end = Now() + seconds;
  while (Now() < end) {
    pid_t pid = fork();
    if (pid < 0) return -1;
    if (pid == 0) BareProgram();
    int status;
    if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) || WEXITSTATUS(status) != 0) return -1;
    n++;
  }
  return n;
}

}  // namespace mmdiff::exec
