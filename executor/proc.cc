// The turn loop of the processes under test and their fault-surviving memory
// access. No allocation here (see proc.h).
#include "executor/proc.h"

#include <fcntl.h>
#include <linux/futex.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstring>

#include "executor/kcov.h"
#include "prog/result.h"

namespace mmdiff::exec {

ProcSelf g_self;
ExecShared* g_shared;

namespace {

sigjmp_buf g_fault_jmp;
volatile sig_atomic_t g_in_access;
volatile sig_atomic_t g_fault_signal;
alignas(16) char g_altstack[64 * 1024];

void FaultHandler(int sig, siginfo_t*, void*) {
  if (!g_in_access) {
    // The executor itself faulted: die by the signal, so the server reports
    // the op as lost instead of a wrong result.
    signal(sig, SIG_DFL);
    return;  // the faulting instruction reruns and kills us
  }
  g_fault_signal = sig;
  siglongjmp(g_fault_jmp, 1);  // savemask 0: restores nothing
}

void InstallFaultHandlers() {
  stack_t ss = {};
  ss.ss_sp = g_altstack;
  ss.ss_size = sizeof g_altstack;
  sigaltstack(&ss, nullptr);
  struct sigaction sa = {};
  sa.sa_sigaction = FaultHandler;
  sa.sa_flags = SA_SIGINFO | SA_ONSTACK | SA_NODEFER;
  sigaction(SIGSEGV, &sa, nullptr);
  sigaction(SIGBUS, &sa, nullptr);
}

void FutexWait(std::atomic<uint32_t>* word, uint32_t val) {
  syscall(SYS_futex, reinterpret_cast<uint32_t*>(word), FUTEX_WAIT, val, nullptr, nullptr, 0);
}

void FutexWakeAll(std::atomic<uint32_t>* word) {
  syscall(SYS_futex, reinterpret_cast<uint32_t*>(word), FUTEX_WAKE, INT_MAX, nullptr, nullptr, 0);
}

// A process passes the turn on before its _exit() has unmapped its memory
// and closed its files; without this wait, the next op races with that
// teardown (e.g. a shared page still counts the exiting mapper). The pidfd
// turns readable once the whole thread group has exited (after exit_mm).
void WaitForExited(ExecShared* shared) {
  int32_t pid = shared->exited_pid.exchange(0);
  if (pid <= 0) return;
  int fd = static_cast<int>(syscall(SYS_pidfd_open, pid, 0));
  if (fd < 0) return;  // already reaped
  struct pollfd pfd = {fd, POLLIN, 0};
  while (poll(&pfd, 1, -1) < 0 && errno == EINTR) {
  }
  close(fd);
}

int Reopen(int fd, const char* path, int flags) {
  if (fd >= 0) close(fd);
  return open(path, flags | O_CLOEXEC);
}

}  // namespace

void OpenProcFiles() {
  g_self.pagemap_fd = Reopen(g_self.pagemap_fd, "/proc/self/pagemap", O_RDONLY);
  g_self.clear_refs_fd = Reopen(g_self.clear_refs_fd, "/proc/self/clear_refs", O_WRONLY);
}

int GuardedAccess(uint64_t addr, bool write, uint8_t value, uint8_t* loaded) {
  volatile uint8_t* p = reinterpret_cast<volatile uint8_t*>(addr);
  // No signal mask to save or restore (a syscall per access): the handler
  // runs with SA_NODEFER, so a fault leaves the mask as it was.
  if (sigsetjmp(g_fault_jmp, 0)) {
    g_in_access = 0;
    return g_fault_signal;
  }
  g_in_access = 1;
  if (write) *p = value;
  else *loaded = *p;
  g_in_access = 0;
  return 0;
}

void RunProgramProcess(ExecShared* shared, uint32_t go, int done_fd) {
  g_shared = shared;
  g_self.proc = 0;
  g_self.done_fd = done_fd;
  for (int& fd : g_self.file_fds) fd = -1;
  OpenProcFiles();
  InstallFaultHandlers();
  // The page faults so far: the server's hang detection counts only those
  // of the program (runner.cc Progress).
  struct rusage ru;
  shared->spare_faults = getrusage(RUSAGE_SELF, &ru) == 0 ? ru.ru_minflt + ru.ru_majflt : 0;
  for (uint32_t now; (now = shared->go.load(std::memory_order_acquire)) != go;) FutexWait(&shared->go, now);
  KcovStart(shared);
  for (;;) {
    uint32_t turn = shared->turn.load(std::memory_order_acquire);
    if (turn == kTurnDone) _exit(0);
    if (turn != static_cast<uint32_t>(g_self.proc)) {
      FutexWait(&shared->turn, turn);
      continue;
    }
    WaitForExited(shared);
    uint32_t pc = shared->pc;
    const Op& op = shared->ops[pc];
    int me = g_self.proc;
    if (pc == 0) shared->first_op_ns = MonotonicNs();
    ExecuteOp(op, pc, &shared->results[pc]);
    // The child of a fork waits for its turn: it runs beside the parent
    // until then, so only the parent touches the shared coverage map now.
    if (g_self.proc != me) continue;
    KcovCollect(shared);
    uint32_t next = pc + 1;
    shared->pc = next;
    if (next == shared->nops) shared->last_op_ns = MonotonicNs();
    if (op.kind == OpKind::kExit) shared->exited_pid.store(getpid());
    shared->turn.store(next < shared->nops ? shared->ops[next].proc : kTurnDone,
                       std::memory_order_release);
    // Only other program processes wait for the turn; a program that never
    // forked has none (a futex wake is a syscall per op).
    if (shared->nprocs > 1) FutexWakeAll(&shared->turn);
    // The trace is complete: the server may answer before the exits.
    if (next == shared->nops && write(g_self.done_fd, "", 1) < 0) {
    }
    if (op.kind == OpKind::kExit) _exit(0);
  }
}

}  // namespace mmdiff::exec
