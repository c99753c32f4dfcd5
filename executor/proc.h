// The processes under test: what runs inside p0, p1, ... of a program.
//
// Rule for every file that runs in these processes (proc.cc, ops.cc,
// uffd_handler.cc): no heap allocation and no mapping changes of their own
// (no malloc/new/std containers, no mmap outside what the program asks for).
// An allocation can mmap and disturb exactly what is measured
// (tests/executor/style_test.cc enforces this).
#pragma once

#include <time.h>

#include <cstdint>

#include "executor/shared_state.h"
#include "prog/op.h"

namespace mmdiff::exec {

// CLOCK_MONOTONIC in nanoseconds (no allocation: usable in program processes).
inline uint64_t MonotonicNs() {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1000000000u + static_cast<uint64_t>(ts.tv_nsec);
}

// Waits (polling every 100 us) until `done()` or `budget_ms` of monotonic
// time have passed; true when done. Bounded by time, not by a count of
// sleeps: on a kernel without high-resolution timers (a minimal guest,
// HZ=100) each short nanosleep() lasts a whole jiffy.
template <typename Done>
bool WaitUntil(Done done, int budget_ms) {
  uint64_t start = MonotonicNs();
  while (!done()) {
    if (MonotonicNs() - start >= uint64_t(budget_ms) * 1000000) return false;
    struct timespec ts = {0, 100 * 1000};
    nanosleep(&ts, nullptr);
  }
  return true;
}

// Process-local state; each fork copies it, and the child fixes it up.
struct ProcSelf {
  int proc = 0;
  int pagemap_fd = -1;
  int clear_refs_fd = -1;
  int uffd = -1;  // this process's own uffd context
  bool uffd_event_fork = false;  // one of its contexts reports forks (UFFD_FEATURE_EVENT_FORK)
  bool forked_with_event = false;  // forked by a process whose context reports forks
  int file_fds[kMaxFiles];
  // The write end of the server's done pipe: the process that ends the
  // program writes a byte to it (runner.cc reads the trace then, before the
  // processes' exit); EOF once they are all gone.
  int done_fd = -1;
};

extern ProcSelf g_self;
extern ExecShared* g_shared;

// Entry of p0, called in a fresh child of the server, possibly while the
// program before runs: opens its /proc files, installs its fault handlers,
// then waits until `shared->go` is `go` (the server loaded its program)
// and runs the turn loop until the program ends; never returns.
[[noreturn]] void RunProgramProcess(ExecShared* shared, uint32_t go, int done_fd);

// Runs one op in the calling process and fills `res`. For `fork`, returns in
// both processes; the child's g_self.proc is the new number.
void ExecuteOp(const Op& op, uint32_t index, ExecResult* res);

// A one-byte load or store at `addr` that survives SIGSEGV/SIGBUS: returns 0
// or the signal number.
int GuardedAccess(uint64_t addr, bool write, uint8_t value, uint8_t* loaded);

// Reopens /proc/self files after fork (they name the task that opened them).
void OpenProcFiles();

// userfaultfd support (uffd_handler.cc).
void UffdAdopt(int fd, int owner_proc);  // start handling faults and events of `fd`
void UffdAfterFork();                    // child: drop the parent's contexts
int UffdForOps();                        // the fd this process's uffd ops use, or -1

}  // namespace mmdiff::exec
