// The C runtime of a reproducer, as text (fuzz/repro_runtime.h). The C
// mirrors executor/ops.cc, proc.cc and uffd_handler.cc: a reproducer must do
// exactly what the executor did.
#include "fuzz/repro_runtime.h"

namespace mmdiff::repro_detail {

const char kSay[] = R"C(static void say(const char *fmt, ...)
{
  char buf[8192];
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(buf, sizeof buf, fmt, ap);
  va_end(ap);
  if (n > (int)sizeof buf - 1)
    n = sizeof buf - 1;
  if (n > 0 && write(1, buf, n) < 0) {
  }
}
)C";

const char kResult[] = R"C(/* The result of the step that just ran, as mmdiff's executor records it. */
enum { RES_NONE, RES_OK, RES_VALUE, RES_ERR, RES_FAULT, RES_PAGEMAP, RES_SCAN };
static struct {
  int kind;
  int err;          /* RES_ERR: errno */
  int sig;          /* RES_FAULT: SIGSEGV or SIGBUS */
  unsigned faults;  /* userfaults the access raised and the handler resolved: 1 wp, 2 missing, 4 minor */
  int64_t value;    /* RES_VALUE; RES_SCAN: the ioctl's return value */
  unsigned n;       /* RES_PAGEMAP: entries in pm[]; RES_SCAN: regions in regions[] */
  uint64_t walk_end;
} res;

static UNUSED void set_ok(void) { res.kind = RES_OK; }
static UNUSED void set_err(void) { res.kind = RES_ERR; res.err = errno; }
static UNUSED void ok_or_err(long ret)
{
  if (ret < 0)
    set_err();
  else
    set_ok();
}
)C";

// The shared block: only the turn protocol needs it in shared memory.
const char kShared[] = R"C(#define TURN_DONE 0xffffffffu
static struct shared {
  uint32_t turn;           /* the step that may run next (futex word) */
  int verdict;             /* 1 once a check failed */
  int forking_child;       /* the process number the running fork creates */
  int exited_pid;          /* a process that ran `exit`: the next step waits for it to be gone */
  int holder_pid[16];      /* UFFD_FEATURE_EVENT_FORK: who holds a child's uffd context */
  int holder_fd[16];
  unsigned faults[16][3];  /* userfaults resolved per process: wp, missing, minor */
} *sh, sh_local UNUSED;
)C";

const char kTurns[] = R"C(/* The turn protocol: each process runs the same straight-line code and
   executes only its own steps, one step at a time in program order. */
static void wake_all(void)
{
  syscall(SYS_futex, &sh->turn, FUTEX_WAKE, INT_MAX, NULL, NULL, 0);
}

static void wait_turn(int s)
{
  for (;;) {
    uint32_t t = __atomic_load_n(&sh->turn, __ATOMIC_ACQUIRE);
    if (t == (uint32_t)s)
      break;
    if (t == TURN_DONE)
      _exit(0);
    syscall(SYS_futex, &sh->turn, FUTEX_WAIT, t, NULL, NULL, 0);
  }
  /* A process that exited passed the turn on before its mm was gone:
     wait for its teardown, as the executor does (pidfd readable at exit). */
  int pid = __atomic_exchange_n(&sh->exited_pid, 0, __ATOMIC_ACQ_REL);
  if (pid > 0) {
    int fd = syscall(SYS_pidfd_open, pid, 0);
    if (fd >= 0) {
      struct pollfd pfd = {fd, POLLIN, 0};
      while (poll(&pfd, 1, -1) < 0 && errno == EINTR) {
      }
      close(fd);
    }
  }
  begin_step(s);
}

static void pass_turn(uint32_t next)
{
  __atomic_store_n(&sh->turn, next >= NSTEPS ? TURN_DONE : next, __ATOMIC_RELEASE);
  wake_all();
}

/* The end of every process: wait until the program is over. */
static void end_process(void)
{
  for (;;) {
    uint32_t t = __atomic_load_n(&sh->turn, __ATOMIC_ACQUIRE);
    if (t == TURN_DONE)
      _exit(0);
    syscall(SYS_futex, &sh->turn, FUTEX_WAIT, t, NULL, NULL, 0);
  }
}

static UNUSED void fail(void)
{
  sh->verdict = 1;
  pass_turn(TURN_DONE);
  _exit(0);
}
)C";

const char kAccess[] = R"C(/* Loads and stores that survive SIGSEGV/SIGBUS (executor/proc.cc GuardedAccess). */
static sigjmp_buf fault_jmp;
static volatile sig_atomic_t in_access, fault_sig;
static char altstack[64 << 10] __attribute__((aligned(16)));

static void on_fault(int sig, siginfo_t *si, void *uc)
{
  (void)si;
  (void)uc;
  if (!in_access) {
    signal(sig, SIG_DFL);
    return;
  }
  fault_sig = sig;
  siglongjmp(fault_jmp, 1);
}

static void install_fault_handlers(void)
{
  stack_t ss = {.ss_sp = altstack, .ss_size = sizeof altstack};
  sigaltstack(&ss, NULL);
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_sigaction = on_fault;
  sa.sa_flags = SA_SIGINFO | SA_ONSTACK | SA_NODEFER;
  sigaction(SIGSEGV, &sa, NULL);
  sigaction(SIGBUS, &sa, NULL);
}

static void access_byte(uint64_t addr, int is_write, uint8_t value)
{
  volatile uint8_t *p = (volatile uint8_t *)(uintptr_t)addr;
  unsigned before[3];
  for (int k = 0; k < 3; k++)
    before[k] = __atomic_load_n(&sh->faults[me][k], __ATOMIC_ACQUIRE);
  if (sigsetjmp(fault_jmp, 1)) {
    in_access = 0;
    res.kind = RES_FAULT;
    res.sig = fault_sig;
  } else {
    in_access = 1;
    if (is_write)
      *p = value;
    else
      res.value = *p;
    in_access = 0;
    res.kind = is_write ? RES_OK : RES_VALUE;
  }
  for (int k = 0; k < 3; k++)
    if (__atomic_load_n(&sh->faults[me][k], __ATOMIC_ACQUIRE) != before[k])
      res.faults |= 1u << k;
}
)C";

const char kMmapResult[] = R"C(static void mmap_result(void *p, void *want, size_t len)
{
  if (p == MAP_FAILED) {
    set_err();
  } else if (p != want) { /* a kernel without MAP_FIXED_NOREPLACE took it as a hint */
    munmap(p, len);
    res.kind = RES_ERR;
    res.err = EEXIST;
  } else {
    set_ok();
  }
}
)C";

const char kMremapResult[] = R"C(static void mremap_result(void *p, void *want)
{
  if (p == MAP_FAILED) {
    set_err();
  } else if (p != want) {
    res.kind = RES_VALUE;
    res.value = (int64_t)(((uint64_t)(uintptr_t)p - ARENA) / PAGE);
  } else {
    set_ok();
  }
}
)C";

const char kFiles[] = R"C(static int fds[8] = {-1, -1, -1, -1, -1, -1, -1, -1}; /* file slots F */

/* memfd/file F N: the new fd replaces the slot's old one. */
static UNUSED void open_slot(int f, int fd, uint64_t pages)
{
  if (fd < 0) {
    set_err();
    return;
  }
  if (ftruncate(fd, (off_t)(pages * PAGE)) < 0) {
    set_err();
    close(fd);
    return;
  }
  if (fds[f] >= 0)
    close(fds[f]);
  fds[f] = fd;
  set_ok();
}
)C";

const char kTmpdir[] = R"C(static char tmpdir[256]; /* the `file` slots live here */

static void make_tmpdir(void)
{
  const char *base = getenv("TMPDIR");
  snprintf(tmpdir, sizeof tmpdir, "%s/mmdiff-repro.XXXXXX", base && *base ? base : "/tmp");
  if (!mkdtemp(tmpdir)) {
    say("ERROR: cannot create %s: %s\n", tmpdir, strerror(errno));
    exit(2);
  }
}
)C";

const char kFaultAround[] = R"C(/* As mmdiff's executor in a guest: a read fault of a file-backed mapping
   maps only its own page (mm/memory.c fault_around_bytes). A system-wide
   setting: this program writes the original value back when it ends (exit,
   its timeout, SIGINT, SIGTERM, SIGHUP) and unmounts debugfs if it mounted
   it; only SIGKILL can leave it pinned. Best effort, needs debugfs. */
#ifndef FAULT_AROUND /* another file for a test: cc -DFAULT_AROUND='"FILE"' */
#define FAULT_AROUND "/sys/kernel/debug/fault_around_bytes"
#endif
static char fa_saved[32];
static pid_t fa_owner;
static int fa_mounted;

static void restore_fault_around(void)
{
  if (fa_owner != getpid()) /* a process of the program: not ours to undo */
    return;
  fa_owner = 0;
  int fd = fa_saved[0] ? open(FAULT_AROUND, O_WRONLY | O_TRUNC | O_CLOEXEC) : -1;
  if (fd >= 0) {
    if (write(fd, fa_saved, strlen(fa_saved)) < 0) {
    }
    close(fd);
  }
  if (fa_mounted)
    syscall(SYS_umount2, "/sys/kernel/debug", MNT_DETACH);
}

static void restore_and_die(int sig)
{
  restore_fault_around();
  signal(sig, SIG_DFL);
  raise(sig);
}

static void pin_fault_around(void)
{
  if (access(FAULT_AROUND, F_OK) != 0)
    fa_mounted = syscall(SYS_mount, "debugfs", "/sys/kernel/debug", "debugfs", 0, NULL) == 0;
  int fd = open(FAULT_AROUND, O_RDONLY | O_CLOEXEC);
  ssize_t n = fd >= 0 ? read(fd, fa_saved, sizeof fa_saved - 1) : -1;
  if (fd >= 0)
    close(fd);
  fa_saved[n > 0 ? n : 0] = 0;
  fa_saved[strcspn(fa_saved, "\n")] = 0;
  fa_owner = getpid();
  atexit(restore_fault_around);
  signal(SIGINT, restore_and_die);
  signal(SIGTERM, restore_and_die);
  signal(SIGHUP, restore_and_die);
  if (!fa_saved[0] || !strcmp(fa_saved, "4096"))
    return;
  fd = open(FAULT_AROUND, O_WRONLY | O_TRUNC | O_CLOEXEC);
  if (fd >= 0) {
    if (write(fd, "4096", 4) < 0) {
    }
    close(fd);
  }
}
)C";

const char kUffdHandler[] = R"C(/* The userfaultfd handler thread (executor/uffd_handler.cc): resolves sync
   faults as a monitor would and reads events so the kernel does not block. */
#define MAX_UFFDS 20
static int h_fd[MAX_UFFDS], h_owner[MAX_UFFDS];
static volatile int h_n;
static int wake_fd = -1, thread_running;
static char thread_stack[256 << 10] __attribute__((aligned(64)));
static char zero_src[2 << 20] __attribute__((aligned(4096))); /* source of UFFDIO_COPY */

/* MISSING: a zero page; UFFDIO_ZEROPAGE refuses a uffd-wp marker (EEXIST)
   and hugetlb (EINVAL), so then a copy of zeroes, 4 KiB or 2 MiB. */
static void resolve_missing(int fd, uint64_t addr)
{
  struct uffdio_zeropage zp = {{addr, PAGE}, 0, 0};
  if (ioctl(fd, UFFDIO_ZEROPAGE, &zp) == 0)
    return;
  for (uint64_t len = PAGE; len <= (2u << 20); len = 2u << 20) {
    struct uffdio_copy copy = {addr & ~(len - 1), (uint64_t)(uintptr_t)zero_src, len, 0, 0};
    if (ioctl(fd, UFFDIO_COPY, &copy) == 0)
      return;
    if (errno != EINVAL || len == (2u << 20))
      break;
  }
  struct uffdio_range range = {addr, PAGE};
  ioctl(fd, UFFDIO_WAKE, &range);
}

static void handle_fault(int fd, int owner, const struct uffd_msg *msg)
{
  uint64_t addr = msg->arg.pagefault.address & ~(PAGE - 1);
  uint64_t flags = msg->arg.pagefault.flags;
  if (flags & UFFD_PAGEFAULT_FLAG_WP) {
    __atomic_add_fetch(&sh->faults[owner][0], 1, __ATOMIC_RELEASE);
    struct uffdio_writeprotect wp = {{addr, PAGE}, 0}; /* un-protect and wake */
    if (ioctl(fd, UFFDIO_WRITEPROTECT, &wp) == 0)
      return;
  } else if (flags & UFFD_PAGEFAULT_FLAG_MINOR) {
    __atomic_add_fetch(&sh->faults[owner][2], 1, __ATOMIC_RELEASE);
    struct uffdio_continue cont = {{addr, PAGE}, 0, 0};
    if (ioctl(fd, UFFDIO_CONTINUE, &cont) == 0)
      return;
  } else {
    __atomic_add_fetch(&sh->faults[owner][1], 1, __ATOMIC_RELEASE);
    resolve_missing(fd, addr);
    return;
  }
  struct uffdio_range range = {addr, PAGE};
  ioctl(fd, UFFDIO_WAKE, &range);
}

static void adopt(int fd, int owner)
{
  int n = h_n;
  if (n == MAX_UFFDS)
    return;
  h_fd[n] = fd;
  h_owner[n] = owner;
  __atomic_store_n(&h_n, n + 1, __ATOMIC_RELEASE);
  uint64_t one = 1;
  if (write(wake_fd, &one, sizeof one) < 0) {
  }
}

static void drain(int fd, int owner)
{
  struct uffd_msg msg;
  while (read(fd, &msg, sizeof msg) == sizeof msg) {
    if (msg.event == UFFD_EVENT_PAGEFAULT) {
      handle_fault(fd, owner, &msg);
@EVENT_FORK@    }
    /* other events: reading them is what unblocks the process */
  }
}

static void *handler_main(void *arg)
{
  (void)arg;
  struct pollfd pfds[MAX_UFFDS + 1];
  for (;;) {
    int n = __atomic_load_n(&h_n, __ATOMIC_ACQUIRE);
    for (int i = 0; i < n; i++)
      pfds[i] = (struct pollfd){h_fd[i], POLLIN, 0};
    pfds[n] = (struct pollfd){wake_fd, POLLIN, 0};
    if (poll(pfds, n + 1, -1) < 0)
      continue;
    if (pfds[n].revents) {
      uint64_t v;
      if (read(wake_fd, &v, sizeof v) < 0) {
      }
    }
    for (int i = 0; i < n; i++)
      if (pfds[i].revents & POLLIN)
        drain(h_fd[i], h_owner[i]);
  }
  return NULL;
}

static void uffd_adopt(int fd)
{
  uffd = fd;
  if (!thread_running) {
    wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setstack(&attr, thread_stack, sizeof thread_stack);
    pthread_t thread;
    pthread_create(&thread, &attr, handler_main, NULL);
    thread_running = 1;
  }
  adopt(fd, me);
}

/* A child's inherited contexts belong to its parent's mm; threads do not survive fork. */
static UNUSED void uffd_after_fork(void)
{
  for (int i = 0; i < h_n; i++)
    if (h_fd[i] != uffd)
      close(h_fd[i]);
  if (uffd >= 0)
    close(uffd);
  if (wake_fd >= 0)
    close(wake_fd);
  h_n = 0;
  uffd = -1;
  wake_fd = -1;
  thread_running = 0;
}
)C";

const char kEventForkDrain[] = R"C(    } else if (msg.event == UFFD_EVENT_FORK) {
      /* the child's context: its faults come here; the child borrows the fd */
      int child = sh->forking_child;
      sh->holder_fd[child] = (int)msg.arg.fork.ufd;
      __atomic_store_n(&sh->holder_pid[child], getpid(), __ATOMIC_RELEASE);
      adopt((int)msg.arg.fork.ufd, child);
)C";

const char kUffdNoThread[] = R"C(/* No handler thread: every uffd of this program is async write-protect
   without events, so the kernel never waits for a monitor. */
static void uffd_adopt(int fd) { uffd = fd; }
static UNUSED void uffd_after_fork(void)
{
  if (uffd >= 0)
    close(uffd);
  uffd = -1;
}
)C";

const char kUffdBorrow[] = R"C(/* The fd this process's uffd ops use: its own, or (a child whose context
   came with UFFD_FEATURE_EVENT_FORK) the one its parent's handler holds. */
static int uffd_for_ops(void)
{
  if (uffd >= 0)
    return uffd;
  int holder = __atomic_load_n(&sh->holder_pid[me], __ATOMIC_ACQUIRE);
  if (holder == 0)
    return -1;
  int pidfd = syscall(SYS_pidfd_open, holder, 0);
  if (pidfd < 0)
    return -1;
  uffd = syscall(SYS_pidfd_getfd, pidfd, sh->holder_fd[me], 0);
  close(pidfd);
  return uffd;
}
)C";

const char kStructs[] = R"C(struct uffdio_range {
  uint64_t start, len;
};
struct uffdio_api {
  uint64_t api, features, ioctls;
};
struct uffdio_register {
  struct uffdio_range range;
  uint64_t mode, ioctls;
};
struct uffdio_writeprotect {
  struct uffdio_range range;
  uint64_t mode;
};
)C";

const char kHandlerStructs[] = R"C(struct uffdio_zeropage {
  struct uffdio_range range;
  uint64_t mode;
  int64_t zeropage;
};
struct uffdio_copy {
  uint64_t dst, src, len, mode;
  int64_t copy;
};
struct uffdio_continue {
  struct uffdio_range range;
  uint64_t mode;
  int64_t mapped;
};
struct uffd_msg {
  uint8_t event, reserved1;
  uint16_t reserved2;
  uint32_t reserved3;
  union {
    struct {
      uint64_t flags, address;
      uint32_t ptid;
    } __attribute__((packed)) pagefault;
    struct {
      uint32_t ufd;
    } fork;
    uint64_t reserved[3];
  } arg;
} __attribute__((packed));
_Static_assert(sizeof(struct uffd_msg) == 32, "uffd_msg is 32 bytes in the uapi");
)C";

const char kScanStructs[] = R"C(struct page_region {
  uint64_t start, end, categories;
};
struct pm_scan_arg {
  uint64_t size, flags, start, end, walk_end, vec, vec_len, max_pages;
  uint64_t category_inverted, category_mask, category_anyof_mask, return_mask;
};
_Static_assert(sizeof(struct pm_scan_arg) == 96, "pm_scan_arg is 96 bytes in the uapi");
)C";

const char kCheckBit[] = R"C(/* The check of one pagemap bit of one page. */
static void check_bit(unsigned idx, unsigned page, int bit, int want, const char *name, const char *after,
                      const char *because)
{
  if (res.kind != RES_PAGEMAP || res.n <= idx) {
    say("FAIL: step %d: reading pagemap failed: %s\n", step, fmt_result('n'));
    fail();
    return;
  }
  int got = (int)(pm[idx] >> bit & 1);
  if (got != want) {
    say("FAIL: page %u: %s is %d after %s (expected %d: %s)\n", page, name, got, after, want, because);
    say("  seen by step %d: %s\n", step, fmt_result('n'));
    fail();
  } else if (verbose) {
    say("ok: page %u: %s is %d at step %d (%s)\n", page, name, got, step, because);
  }
}
)C";

const char kCheckPagemap[] = R"C(/* The check of a whole pagemap result: one of `nalt` allowed ones, each
   compared on its `care` bits (a '?' in the .mmp syntax is not compared). */
static void check_pagemap(const char *op, unsigned first, unsigned n, unsigned nalt, const uint64_t *want,
                          const uint64_t *care, const char *const *text, const char *because)
{
  int shown = 0;
  if (res.kind == RES_PAGEMAP && res.n == n) {
    for (unsigned a = 0; a < nalt; a++) {
      unsigned k = 0;
      while (k < n && ((pm[k] ^ want[a * n + k]) & care[a * n + k]) == 0)
        k++;
      if (k == n) {
        if (verbose)
          say("ok: step %d: %s\n", step, op);
        return;
      }
    }
    for (unsigned k = 0; k < n && !shown; k++)
      for (int b = 0; b < NBITS && !shown; b++)
        if (((pm[k] ^ want[k]) & care[k]) >> bit_no[b] & 1) {
          say("FAIL: page %u: %s is %d at step %d (expected %d%s%s)\n", first + k, bit_name[b],
              (int)(pm[k] >> bit_no[b] & 1), step, (int)(want[k] >> bit_no[b] & 1), *because ? ": " : "", because);
          shown = 1;
        }
  }
  if (!shown)
    say("FAIL: step %d: %s => %s\n", step, op, fmt_result('n'));
  say("  step %d: %s => %s\n  expected: %s%s\n", step, op, fmt_result('n'), text[0],
      nalt > 1 ? " (or another allowed result)" : "");
  fail();
}
)C";

const char kCheckText[] = R"C(/* '?' matches one letter of a pagemap token, or a missing seventh one (G). */
static int match(const char *got, const char *want)
{
  while (*want) {
    if (*want == '?') {
      if (*got && *got != ' ')
        got++;
      want++;
    } else if (*got++ != *want++) {
      return 0;
    }
  }
  return *got == 0;
}

/* The check of a whole result, printed: one of `nalt` allowed ones. */
static void check_text(const char *op, char style, unsigned nalt, const char *const *allowed, const char *because)
{
  const char *got = fmt_result(style);
  for (unsigned a = 0; a < nalt; a++)
    if (match(got, allowed[a])) {
      if (verbose)
        say("ok: step %d: %s => %s\n", step, op, got);
      return;
    }
  say("FAIL: step %d: %s => %s (expected %s%s%s%s)\n", step, op, got, allowed[0],
      nalt > 1 ? " or another allowed result" : "", *because ? ": " : "", because);
  fail();
}
)C";

const char kConduct[] = R"C(/* The conductor: waits for every process of the program (it is their
   subreaper), stops a hang, and turns the verdict into the exit status. */
static int conduct(pid_t p0)
{
  struct timespec t0, now;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  int done = 0;
  for (;;) {
    int status;
    pid_t pid = waitpid(-1, &status, WNOHANG);
    if (pid < 0 && errno == ECHILD)
      break;
    uint32_t turn = __atomic_load_n(&sh->turn, __ATOMIC_ACQUIRE);
    if (pid > 0) {
      if (!done && turn != TURN_DONE && !(WIFEXITED(status) && WEXITSTATUS(status) == 0)) {
        say("FAIL: step %u: a process died (%s %d)\n", turn, WIFSIGNALED(status) ? "signal" : "exit status",
            WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status));
        sh->verdict = done = 1;
        kill(-p0, SIGKILL);
      }
      continue;
    }
    clock_gettime(CLOCK_MONOTONIC, &now);
    if (!done && now.tv_sec - t0.tv_sec >= TIMEOUT) {
      say("FAIL: step %u did not finish within %d s (hang)\n", turn, TIMEOUT);
      sh->verdict = done = 1;
      kill(-p0, SIGKILL);
    }
    usleep(1000);
  }
  cleanup();
  if (sh->verdict)
    return 1;
  say("PASS\n");
  return 0;
}

)C";

}  // namespace mmdiff::repro_detail
