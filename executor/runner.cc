#include "executor/runner.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <algorithm>
#include <cstdio>
#include <cstring>

#include "executor/exec_dir.h"
#include "executor/kcov.h"
#include "executor/proc.h"
#include "executor/uapi.h"

namespace mmdiff::exec {
namespace {

int64_t NowMs() { return static_cast<int64_t>(MonotonicNs() / 1000000); }

}  // namespace

ProgramRunner::~ProgramRunner() {
  if (shared_) munmap(shared_, sizeof(ExecShared));
  if (sigchld_fd_ >= 0) close(sigchld_fd_);
  if (!tmpdir_.empty()) RemoveExecDir(tmpdir_.c_str());
}

// The zero page's PFN: a read-faulted private anonymous page maps it
// (do_anonymous_page()), and pagemap shows PFNs to CAP_SYS_ADMIN. 0 when
// it cannot be seen.
static uint64_t ZeroPagePfn() {
  void* p = mmap(nullptr, kPageSize, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) return 0;
  (void)*static_cast<volatile const uint8_t*>(p);
  uint64_t word = 0;
  int fd = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
  if (fd >= 0) {
    if (pread(fd, &word, 8, static_cast<off_t>(reinterpret_cast<uint64_t>(p) / kPageSize) * 8) != 8) word = 0;
    close(fd);
  }
  munmap(p, kPageSize);
  return (word & kPmPresent) ? word & kPmPfnBits : 0;
}

bool ProgramRunner::Init(std::string* err, uint64_t memory_max, bool may_swap) {
  zero_pfn_ = ZeroPagePfn();
  memcap_.Init(memory_max, may_swap);
  void* p = mmap(nullptr, sizeof(ExecShared), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) {
    *err = std::string("mmap of the shared block: ") + strerror(errno);
    return false;
  }
  shared_ = static_cast<ExecShared*>(p);
  const char* base = getenv("TMPDIR");
  std::string dir = MakeExecDir(base && *base ? base : "/tmp", err);
  if (dir.empty()) return false;
  tmpdir_ = dir;
  if (dir.size() >= sizeof(shared_->tmpdir)) {
    *err = "the temporary directory's name is too long: " + dir;
    return false;
  }
  // Grandchildren (p1, p2, ...) are reparented to us when p0 exits, so we
  // can reap them and no program process outlives its run.
  prctl(PR_SET_CHILD_SUBREAPER, 1);
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGCHLD);
  sigprocmask(SIG_BLOCK, &set, nullptr);
  sigchld_fd_ = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
  if (sigchld_fd_ < 0) {
    *err = std::string("signalfd: ") + strerror(errno);
    return false;
  }
  return true;
}

void ProgramRunner::Reset(const Program& prog) {
  ExecShared* s = shared_;
  uint32_t n = static_cast<uint32_t>(prog.ops.size());
  s->pc = 0;
  s->nops = n;
  s->first_op_ns = s->last_op_ns = 0;
  s->nprocs = 1;
  s->forking_child = 0;
  s->handlers_draining.store(0);
  s->scan_default_ret = scan_default_ret_;
  s->kcov_on = kcov_;  // the map is empty: KcovTakeFeatures cleared it
  s->data_used = 0;
  s->cross_used = 0;
  s->exited_pid.store(0);
  memset(s->pids, 0, sizeof s->pids);
  for (int p = 0; p < kMaxProcs; p++) {
    for (auto& f : s->faults[p]) f.store(0);
    s->uffd_holder_pid[p].store(0);
    s->uffd_holder_fd[p].store(-1);
  }
  snprintf(s->tmpdir, sizeof s->tmpdir, "%s", tmpdir_.c_str());
  memcpy(s->ops, prog.ops.data(), n * sizeof(Op));
  memset(s->results, 0, n * sizeof(ExecResult));
  s->turn.store(n ? prog.ops[0].proc : kTurnDone);
}

// What moves while a program makes progress: ops completed, and the page
// faults of its processes (a populate of gigabytes completes no op for
// seconds but faults all along; a process blocked in the kernel, or spinning
// there, faults no more). Faults count only while a range op runs: a read
// or write touches one page, so one that keeps faulting is a refault loop,
// a hang.
uint64_t ProgramRunner::Progress() const {
  uint64_t mark = uint64_t{shared_->pc} << 40;
  uint32_t pc = shared_->pc;
  if (pc < shared_->nops && (shared_->ops[pc].kind == OpKind::kRead || shared_->ops[pc].kind == OpKind::kWrite))
    return mark;
  for (uint32_t p = 0; p < shared_->nprocs && p < static_cast<uint32_t>(kMaxProcs); p++) {
    if (shared_->pids[p] <= 0) continue;
    char path[64], buf[1024];
    snprintf(path, sizeof path, "/proc/%d/stat", shared_->pids[p]);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) continue;
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n <= 0) continue;
    buf[n] = 0;
    // Fields after "(comm)": state ppid pgrp session tty tpgid flags minflt cminflt majflt.
    const char* rest = strrchr(buf, ')');
    unsigned long minflt = 0, majflt = 0;
    if (rest && sscanf(rest + 2, "%*c %*d %*d %*d %*d %*d %*u %lu %*u %lu", &minflt, &majflt) == 2)
      mark += minflt + majflt;
  }
  return mark;
}

// Returns when every program process is gone (the done pipe hit EOF).
TraceEnd ProgramRunner::WaitForEnd(int done_fd, pid_t pgid, int timeout_ms) {
  int64_t start = NowMs();
  int64_t bound = start + int64_t{timeout_ms} * kSlowBoundFactor;
  int64_t deadline = start + timeout_ms;
  uint64_t progress = Progress();
  TraceEnd end = TraceEnd::kCompleted;
  bool killed = false;
  for (;;) {
    struct pollfd pfds[2] = {{done_fd, POLLIN, 0}, {sigchld_fd_, POLLIN, 0}};
    int64_t left = deadline - NowMs();
    int n = poll(pfds, 2, killed ? -1 : static_cast<int>(left > 0 ? left : 0));
    if (n < 0 && errno == EINTR) continue;
    if (pfds[0].revents) {
      char c;
      if (read(done_fd, &c, 1) <= 0) return end;
    }
    if (pfds[1].revents) {
      struct signalfd_siginfo si;
      while (read(sigchld_fd_, &si, sizeof si) == sizeof si) {
      }
      int status;
      pid_t pid;
      while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
        bool clean = WIFEXITED(status) && WEXITSTATUS(status) == 0;
        uint32_t turn = shared_->turn.load();
        if (clean || killed || turn == kTurnDone || turn >= kMaxProcs) continue;
        if (shared_->pids[turn] != pid) continue;
        // The process whose turn it was died: nobody will pass the turn on.
        if (shared_->pc < shared_->nops)
          shared_->results[shared_->pc].kind = static_cast<uint8_t>(ResultKind::kLost);
        kill(-pgid, SIGKILL);
        killed = true;
      }
    }
    if (!killed && n == 0 && NowMs() >= deadline) {
      uint64_t now_progress = Progress();
      bool progressing = now_progress != progress;
      int64_t now = NowMs();
      if (progressing && now < bound) {
        progress = now_progress;
        deadline = std::min(now + timeout_ms, bound);
        continue;
      }
      // Stuck: a hang. Still progressing at the bound: slow, not stuck.
      if (progressing) end = TraceEnd::kTimeLimit;
      if (shared_->pc < shared_->nops)
        shared_->results[shared_->pc].kind = static_cast<uint8_t>(ResultKind::kHang);
      kill(-pgid, SIGKILL);
      killed = true;
    }
  }
}

std::vector<ScanRegion> ProgramRunner::Regions(const uint8_t* area, uint32_t off, uint32_t count) const {
  std::vector<ScanRegion> out;
  const page_region* regs = reinterpret_cast<const page_region*>(area + off);
  for (uint32_t k = 0; k < count; k++)
    out.push_back({(regs[k].start - kArenaBase) / kPageSize, (regs[k].end - kArenaBase) / kPageSize,
                   static_cast<uint32_t>(regs[k].categories)});
  return out;
}

void ProgramRunner::CollectCross(const ExecResult& e, CrossAnswer* c) const {
  c->kind = static_cast<CrossAnswer::Kind>(e.cross);
  if (c->kind == CrossAnswer::kNone) return;
  c->err = e.cross_err;
  c->scan_ret = e.cross_ret;
  if (c->kind == CrossAnswer::kFailed) return;
  if (e.smaps) {
    c->has_smaps = true;
    const SmapsVma* v = reinterpret_cast<const SmapsVma*>(shared_->cross_data + e.smaps_off);
    for (uint32_t k = 0; k < e.smaps_count; k++)
      c->smaps.push_back({v[k].start < kArenaBase ? 0 : (v[k].start - kArenaBase) / kPageSize,
                          v[k].end < kArenaBase ? 0 : (v[k].end - kArenaBase) / kPageSize, v[k].huge_kb / 4});
  }
  if (e.unfiltered) {
    c->has_unfiltered = true;
    c->unfiltered = Regions(shared_->cross_data, e.unfiltered_off, e.unfiltered_count);
    c->unfiltered_end = (e.unfiltered_end - kArenaBase) / kPageSize;
  }
  if (static_cast<ResultKind>(e.kind) == ResultKind::kPagemap) {
    c->regions = Regions(shared_->cross_data, e.cross_off, e.cross_count);
    c->walk_end = (e.cross_walk_end - kArenaBase) / kPageSize;
    return;
  }
  const uint64_t* words = reinterpret_cast<const uint64_t*>(shared_->cross_data + e.cross_off);
  c->pagemap.assign(words, words + e.cross_count);
  if (!e.resplit) return;
  c->resplit = true;
  c->whole = Regions(shared_->cross_data, e.whole_off, e.whole_count);
  c->whole_end = (e.whole_end - kArenaBase) / kPageSize;
  c->resumed = Regions(shared_->cross_data, e.resumed_off, e.resumed_count);
  c->resumed_end = (e.resumed_end - kArenaBase) / kPageSize;
}

Trace ProgramRunner::CollectTrace() const {
  Trace trace;
  trace.results.resize(shared_->nops);
  for (uint32_t i = 0; i < shared_->nops; i++) {
    const ExecResult& e = shared_->results[i];
    Result& r = trace.results[i];
    r.kind = static_cast<ResultKind>(e.kind);
    r.uffd_faults = e.uffd_faults;
    r.err = e.err;
    r.signal = e.signal;
    r.value = e.value;
    r.is_scan = e.is_scan;
    if (r.kind == ResultKind::kPagemap) {
      const uint64_t* words = reinterpret_cast<const uint64_t*>(shared_->data + e.data_off);
      r.pagemap.assign(words, words + e.data_count);
    } else if (e.is_scan) {
      r.regions = Regions(shared_->data, e.data_off, e.data_count);
      r.walk_end = (e.walk_end - kArenaBase) / kPageSize;
    }
    CollectCross(e, &r.cross);
  }
  trace.zero_pfn = zero_pfn_;
  if (kcov_) trace.kernel_cov = KcovTakeFeatures(shared_);
  return trace;
}

Trace ProgramRunner::Run(const Program& prog, int timeout_ms) {
  Reset(prog);
  // Read before the fork: a one-CPU guest runs p0 only once this process
  // sleeps in WaitForEnd, so everything between fork and poll delays it.
  uint64_t limit_events = memcap_.LimitEvents();
  int done[2];
  if (pipe2(done, O_CLOEXEC) < 0) {
    Trace t;
    t.results.resize(prog.ops.size());
    if (!t.results.empty()) t.results[0] = Result{.kind = ResultKind::kLost};
    return t;
  }
  pid_t pid = fork();
  if (pid == 0) {
    close(done[0]);
    setpgid(0, 0);
    prctl(PR_SET_PDEATHSIG, SIGKILL);  // no orphaned program if the server dies
    memcap_.EnterInChild();
    // Only the done pipe's write end stays open: when the last program
    // process exits, the server reads EOF.
    syscall(SYS_close_range, 3, done[1] - 1, 0);
    syscall(SYS_close_range, done[1] + 1, ~0u, 0);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, nullptr);
    RunProgramProcess(shared_);
  }
  close(done[1]);
  if (pid < 0) {
    close(done[0]);
    Trace t;
    t.results.resize(prog.ops.size());
    if (!t.results.empty()) t.results[0] = Result{.kind = ResultKind::kLost, .err = errno};
    return t;
  }
  setpgid(pid, pid);
  shared_->pids[0] = pid;
  SetProgramGroupToKill(pid);
  TraceEnd end = WaitForEnd(done[0], pid, timeout_ms);
  waited_ns_ = MonotonicNs();
  SetProgramGroupToKill(0);
  close(done[0]);
  // Every program process is gone but the program did not end: the last
  // one died (the OOM killer, a signal) before its SIGCHLD was read.
  if (shared_->turn.load() != kTurnDone && shared_->pc < shared_->nops &&
      shared_->results[shared_->pc].kind == static_cast<uint8_t>(ResultKind::kNone))
    shared_->results[shared_->pc].kind = static_cast<uint8_t>(ResultKind::kLost);
  while (waitpid(-1, nullptr, 0) > 0 || errno == EINTR) {
  }
  struct signalfd_siginfo si;
  while (read(sigchld_fd_, &si, sizeof si) == sizeof si) {
  }
  // The regular files of the program's `file` ops (ops.cc: one path per slot).
  bool used[kMaxFiles] = {};
  for (const Op& op : prog.ops)
    if (op.kind == OpKind::kFile && op.file < kMaxFiles) used[op.file] = true;
  for (int f = 0; f < kMaxFiles; f++)
    if (used[f]) unlink((tmpdir_ + "/f" + std::to_string(f)).c_str());
  Trace trace = CollectTrace();
  trace.end = end;
  if (end == TraceEnd::kTimeLimit)
    trace.console = "still making progress after " + std::to_string(timeout_ms * kSlowBoundFactor) +
                    " ms (" + std::to_string(kSlowBoundFactor) + " x --timeout)";
  MarkMemoryLimit(limit_events, &trace);
  return trace;
}

// A run that hit the cap is not judged: the kernel answered a limit the
// model does not know (ENOMEM, reclaim, the OOM killer).
void ProgramRunner::MarkMemoryLimit(uint64_t events_before, Trace* trace) const {
  bool hit = false;
  if (memcap_.kind() == MemoryCap::Kind::kRlimitAs) {
    // RLIMIT_AS shows only as ENOMEM from the calls that grow the address
    // space; without a cgroup such an ENOMEM cannot be told from the kernel's own.
    for (size_t i = 0; i < trace->results.size(); i++) {
      OpKind k = shared_->ops[i].kind;
      hit |= trace->results[i].kind == ResultKind::kErr && trace->results[i].err == ENOMEM &&
             (k == OpKind::kMmap || k == OpKind::kMremap);
    }
  } else {
    hit = memcap_.LimitEvents() != events_before;
  }
  if (!hit) return;
  trace->end = TraceEnd::kMemoryLimit;
  uint64_t peak = memcap_.Peak();
  trace->console = "the program hit the memory cap (" + memcap_.Describe() + ")" +
                   (peak ? "; peak " + std::to_string(peak >> 20) + " MiB" : "");
}

}  // namespace mmdiff::exec
