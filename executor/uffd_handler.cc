// The userfaultfd handler thread of a process under test: resolves sync
// faults the way a real monitor does and reads events so the kernel does not
// block the process that raised them. No allocation (see proc.h): the thread
// runs on a static stack.
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <sys/eventfd.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>

#include "executor/proc.h"
#include "executor/uapi.h"

namespace mmdiff::exec {
namespace {

constexpr int kMaxUffds = kMaxProcs + 4;
constexpr uint64_t kHugePage = 2u << 20;

int g_fds[kMaxUffds];
int g_owner[kMaxUffds];        // the process whose faults g_fds[i] reports
std::atomic<int> g_nfds{0};
int g_wake_fd = -1;
bool g_thread_running = false;
alignas(64) char g_thread_stack[256 * 1024];
alignas(4096) char g_zero_page[kHugePage];  // source for UFFDIO_COPY of a zero huge page

// Missing fault: map a zero page, the simplest content a monitor provides.
// UFFDIO_ZEROPAGE wants a none PTE, but a MISSING fault also comes from a
// uffd-wp marker (mm/memory.c pte_marker_handle_uffd_wp -> do_anonymous_page),
// which UFFDIO_COPY accepts (pte_none_mostly) and ZEROPAGE answers with
// EEXIST (mm/userfaultfd.c mfill_atomic_pte_zeropage): so ZEROPAGE, then a
// copy of zeroes (also what hugetlb needs: EINVAL for ZEROPAGE there). EEXIST
// from COPY means a page is really there: installs nothing, wakes nobody, so
// the faulting thread is woken here.
void ResolveMissing(int fd, uint64_t addr) {
  struct uffdio_zeropage zp = {};
  zp.range.start = addr;
  zp.range.len = kPageSize;
  if (ioctl(fd, UFFDIO_ZEROPAGE, &zp) == 0) return;
  for (uint64_t len : {kPageSize, kHugePage}) {
    struct uffdio_copy copy = {};
    copy.dst = addr & ~(len - 1);
    copy.src = reinterpret_cast<uint64_t>(g_zero_page);
    copy.len = len;
    if (ioctl(fd, UFFDIO_COPY, &copy) == 0) return;
    if (errno != EINVAL) break;
  }
  struct uffdio_range range = {addr, kPageSize};
  ioctl(fd, UFFDIO_WAKE, &range);
}

void HandleFault(int fd, int owner, const uffd_msg& msg) {
  uint64_t addr = msg.arg.pagefault.address & ~(kPageSize - 1);
  uint64_t flags = msg.arg.pagefault.flags;
  // Count before resolving: the faulting access returns only after the
  // resolution, and then reads the counter.
  // WRITEPROTECT and CONTINUE take whole huge pages on hugetlb (EINVAL for
  // 4 KiB: mm/userfaultfd.c mwriteprotect_range(), mfill_atomic_hugetlb()):
  // the page first, then its 2 MiB page.
  if (flags & UFFD_PAGEFAULT_FLAG_WP) {
    g_shared->faults[owner][0]++;
    for (uint64_t len : {kPageSize, kHugePage}) {
      struct uffdio_writeprotect wp = {};
      wp.range.start = addr & ~(len - 1);
      wp.range.len = len;
      wp.mode = 0;  // un-protect this page and wake the faulting thread
      if (ioctl(fd, UFFDIO_WRITEPROTECT, &wp) == 0) return;
      if (errno != EINVAL) break;
    }
  } else if (flags & UFFD_PAGEFAULT_FLAG_MINOR) {
    g_shared->faults[owner][2]++;
    for (uint64_t len : {kPageSize, kHugePage}) {
      struct uffdio_continue cont = {};
      cont.range.start = addr & ~(len - 1);
      cont.range.len = len;
      if (ioctl(fd, UFFDIO_CONTINUE, &cont) == 0) return;  // EEXIST: wake below
      if (errno != EINVAL) break;
    }
  } else {
    g_shared->faults[owner][1]++;
    return ResolveMissing(fd, addr);
  }
  struct uffdio_range range = {addr, kPageSize};
  ioctl(fd, UFFDIO_WAKE, &range);
}

void Adopt(int fd, int owner) {
  int n = g_nfds.load();
  if (n == kMaxUffds) return;
  g_fds[n] = fd;
  g_owner[n] = owner;
  g_nfds.store(n + 1);
  uint64_t one = 1;
  if (write(g_wake_fd, &one, sizeof one) < 0) {
  }
}

void Drain(int fd, int owner) {
  uffd_msg msg;
  // Counted before the read: fork() returns in the forking process only
  // after the kernel handed this thread the FORK message
  // (dup_userfaultfd_complete() waits for the read), so from then until the
  // count drops the message's child number must not change under it.
  g_shared->handlers_draining.fetch_add(1);
  struct Done {
    ~Done() { g_shared->handlers_draining.fetch_sub(1); }
  } done;
  while (read(fd, &msg, sizeof msg) == sizeof msg) {
    switch (msg.event) {
      case UFFD_EVENT_PAGEFAULT:
        HandleFault(fd, owner, msg);
        break;
      case UFFD_EVENT_FORK: {
        // The child's context (mm/userfaultfd.c dup_fctx): its faults come
        // here, and the child borrows the fd for its own uffd ops.
        int child = static_cast<int>(g_shared->forking_child);
        int child_fd = static_cast<int>(msg.arg.fork.ufd);
        g_shared->uffd_holder_fd[child].store(child_fd);
        g_shared->uffd_holder_pid[child].store(getpid());
        Adopt(child_fd, child);
        break;
      }
      default:  // REMAP, REMOVE, UNMAP: reading the event is what unblocks the caller
        break;
    }
  }
}

void* HandlerMain(void*) {
  struct pollfd pfds[kMaxUffds + 1];
  for (;;) {
    int n = g_nfds.load();
    for (int i = 0; i < n; i++) pfds[i] = {g_fds[i], POLLIN, 0};
    pfds[n] = {g_wake_fd, POLLIN, 0};
    if (poll(pfds, n + 1, -1) < 0) continue;
    if (pfds[n].revents) {
      uint64_t v;
      if (read(g_wake_fd, &v, sizeof v) < 0) {
      }
    }
    for (int i = 0; i < n; i++)
      if (pfds[i].revents & POLLIN) Drain(g_fds[i], g_owner[i]);
  }
  return nullptr;
}

}  // namespace

void UffdAdopt(int fd, int owner_proc) {
  g_self.uffd = fd;
  if (!g_thread_running) {
    g_wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setstack(&attr, g_thread_stack, sizeof g_thread_stack);
    pthread_t thread;
    pthread_create(&thread, &attr, HandlerMain, nullptr);
    g_thread_running = true;
  }
  Adopt(fd, owner_proc);
}

void UffdAfterFork() {
  // Every inherited uffd names a context of another mm: a child that kept
  // them would operate on its parent. Threads do not survive fork.
  int n = g_nfds.load();
  for (int i = 0; i < n; i++) close(g_fds[i]);
  if (g_self.uffd >= 0) close(g_self.uffd);
  if (g_wake_fd >= 0) close(g_wake_fd);
  g_nfds.store(0);
  g_self.uffd = -1;
  g_self.uffd_event_fork = false;
  g_wake_fd = -1;
  g_thread_running = false;
}

int UffdForOps() {
  if (g_self.uffd >= 0) return g_self.uffd;
  // The parent's handler read the fork event before fork() returned there
  // (fs/userfaultfd.c dup_userfaultfd_complete waits for it), and records it
  // right after: a moment's wait at most. No event at all when no VMA was
  // registered with the context, hence the bound.
  if (g_self.forked_with_event)
    WaitUntil([] { return g_shared->uffd_holder_pid[g_self.proc].load() != 0; }, 200);
  int holder = g_shared->uffd_holder_pid[g_self.proc].load();
  if (holder == 0) return -1;
  int pidfd = static_cast<int>(syscall(SYS_pidfd_open, holder, 0));
  if (pidfd < 0) return -1;
  g_self.uffd = static_cast<int>(
      syscall(SYS_pidfd_getfd, pidfd, g_shared->uffd_holder_fd[g_self.proc].load(), 0));
  close(pidfd);
  return g_self.uffd;
}

}  // namespace mmdiff::exec
