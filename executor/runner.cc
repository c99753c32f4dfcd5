#include "executor/runner.h"

#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <linux/futex.h>
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
  if (running_done_ >= 0) kill(-running_pgid_, SIGKILL);
  Quiesce();
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
  limit_events_ = memcap_.LimitEvents();
  // Forking the next p0 while a program runs pays where another CPU is
  // free to run the program meanwhile; with one CPU (a guest) it is forked
  // after the answer, while the host checks the trace (AfterAnswer).
  cpu_set_t mine;
  spawn_while_running_ = sched_getaffinity(0, sizeof mine, &mine) == 0 ? CPU_COUNT(&mine) > 1
                                                                       : sysconf(_SC_NPROCESSORS_ONLN) > 1;
  return true;
}

// Whether some VMA of the program could ever hold a PMD mapping (a THP or a
// 2 MiB hugetlb page): only if the arena ranges its mmap and mremap ops give
// cover, together, a whole PMD-aligned 2 MiB block, since every arena VMA is
// made by those ops (merges join only what they made). Otherwise smaps can
// only say 0 for every VMA, and the program skips reading it (ops.cc
// CrossSmaps: a few tens of microseconds per observation, most of a short
// program's time in a TCG guest).
static bool MayMapPmd(const Program& prog) {
  std::vector<std::pair<uint64_t, uint64_t>> ranges;
  for (const Op& op : prog.ops) {
    if (op.kind == OpKind::kMmap) ranges.push_back({op.page, uint64_t{op.page} + op.npages});
    if (op.kind == OpKind::kMremap) {
      uint64_t at = (op.flags & kFlagMove) ? op.new_page : op.page;
      ranges.push_back({at, at + op.new_npages});
    }
  }
  std::sort(ranges.begin(), ranges.end());
  uint64_t start = 0, end = 0;
  for (size_t i = 0; i <= ranges.size(); i++) {
    if (i < ranges.size() && ranges[i].first <= end) {
      end = std::max(end, ranges[i].second);
      continue;
    }
    if ((start + kPagesPerPmd - 1) / kPagesPerPmd * kPagesPerPmd + kPagesPerPmd <= end) return true;
    if (i < ranges.size()) start = ranges[i].first, end = ranges[i].second;
  }
  return false;
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
  s->may_map_pmd = MayMapPmd(prog);
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
bool ProgramRunner::FaultsCountAt(uint32_t pc) const {
  return pc < shared_->nops && shared_->ops[pc].kind != OpKind::kRead && shared_->ops[pc].kind != OpKind::kWrite;
}

uint64_t ProgramRunner::Progress() const {
  uint64_t mark = uint64_t{shared_->pc} << 40;
  if (shared_->pc < shared_->nops && !FaultsCountAt(shared_->pc)) return mark;
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

// Progress() as it is when p0 is let go, without reading /proc on the way:
// op 0 not begun, p0's faults those of its setup (proc.cc).
uint64_t ProgramRunner::ProgressAtGo() const { return FaultsCountAt(0) ? shared_->spare_faults : 0; }

// Returns when every program process is gone (the done pipe hit EOF).
// Or when the program's last op is done (the byte its process writes to the
// done pipe): *exited says which.
TraceEnd ProgramRunner::WaitForEnd(int done_fd, pid_t pgid, int timeout_ms, uint64_t progress, bool* exited) {
  int64_t start = NowMs();
  int64_t bound = start + int64_t{timeout_ms} * kSlowBoundFactor;
  int64_t deadline = start + timeout_ms;
  TraceEnd end = TraceEnd::kCompleted;
  bool killed = false;
  for (;;) {
    struct pollfd pfds[2] = {{done_fd, POLLIN, 0}, {sigchld_fd_, POLLIN, 0}};
    int64_t left = deadline - NowMs();
    int n = poll(pfds, 2, killed ? -1 : static_cast<int>(left > 0 ? left : 0));
    if (n < 0 && errno == EINTR) continue;
    if (pfds[0].revents) {
      char c;
      ssize_t got = read(done_fd, &c, 1);
      if (got == 1 && !killed) return end;
      if (got == 0) {
        *exited = true;
        return end;
      }
    }
    if (pfds[1].revents) {
      struct signalfd_siginfo si;
      while (read(sigchld_fd_, &si, sizeof si) == sizeof si) {
      }
      int status;
      pid_t pid;
      while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
        if (pid == spare_pid_) {  // the next program's p0 died waiting
          ForgetSpare();
          continue;
        }
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

// Forks the next program's p0 ahead of its program: fork, joining the memory
// cap and opening its files are most of a short program's cost, and here
// they overlap the program before (on another CPU) or the host's checking
// of its trace. The child waits for `go` (proc.cc RunProgramProcess).
bool ProgramRunner::Spawn() {
  int done[2];
  if (pipe2(done, O_CLOEXEC) < 0) return false;
  uint32_t go = ++go_counter_;
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
    RunProgramProcess(shared_, go, done[1]);
  }
  int saved = errno;
  close(done[1]);
  if (pid < 0) {
    close(done[0]);
    errno = saved;
    return false;
  }
  setpgid(pid, pid);
  spare_pid_ = pid;
  spare_done_ = done[0];
  spare_go_ = go;
  return true;
}

void ProgramRunner::ForgetSpare() {
  close(spare_done_);
  spare_pid_ = -1;
  spare_done_ = -1;
}

void ProgramRunner::DropSpare() {
  if (spare_pid_ <= 0) return;
  kill(spare_pid_, SIGKILL);
  while (waitpid(spare_pid_, nullptr, 0) < 0 && errno == EINTR) {
  }
  ForgetSpare();
}

// The processes of a program whose trace is taken: wait until they are all
// gone (EOF on its done pipe; past the run's timeout they are killed) and
// reap them. (Its files went with the trace, in Run.)
void ProgramRunner::Reap() {
  if (running_done_ < 0) return;
  struct pollfd pfd = {running_done_, POLLIN, 0};
  bool killed = false;
  for (;;) {
    int n = poll(&pfd, 1, killed ? -1 : running_timeout_ms_);
    if (n < 0 && errno == EINTR) continue;
    if (n == 0) {
      kill(-running_pgid_, SIGKILL);
      killed = true;
      continue;
    }
    char c;
    ssize_t got = read(running_done_, &c, 1);
    if (got == 0 || (got < 0 && errno != EINTR && errno != EAGAIN)) break;
  }
  close(running_done_);
  running_done_ = -1;
  // The program's processes are its group (p0's children were reparented
  // to us): not the spare p0 of the next program.
  while (waitpid(-running_pgid_, nullptr, 0) > 0 || errno == EINTR) {
  }
  SetProgramGroupToKill(0);
  struct signalfd_siginfo si;
  while (read(sigchld_fd_, &si, sizeof si) == sizeof si) {
  }
}

void ProgramRunner::AfterAnswer() {
  if (!spawn_while_running_ && spare_pid_ <= 0) Spawn();
}

void ProgramRunner::Quiesce() {
  Reap();
  DropSpare();
}

Trace ProgramRunner::Run(const Program& prog, int timeout_ms) {
  Reap();
  TraceEnd end = TraceEnd::kCompleted;
  bool exited = false;
  // A p0 forked ahead may have died while it waited (the OOM killer of the
  // program before's group, a signal): one that dies before op 0 began is
  // replaced once by a fresh one.
  for (int attempt = 0; attempt < 2; attempt++) {
    if (spare_pid_ <= 0 && !Spawn()) {
      Trace t;
      t.results.resize(prog.ops.size());
      if (!t.results.empty()) t.results[0] = Result{.kind = ResultKind::kLost, .err = errno};
      return t;
    }
    Reset(prog);
    pid_t pid = spare_pid_;
    int done = spare_done_;
    spare_pid_ = -1;
    spare_done_ = -1;
    shared_->pids[0] = pid;
    SetProgramGroupToKill(pid);
    uint64_t progress = ProgressAtGo();
    shared_->go.store(spare_go_, std::memory_order_release);
    syscall(SYS_futex, reinterpret_cast<uint32_t*>(&shared_->go), FUTEX_WAKE, 1, nullptr, nullptr, 0);
    // The next program's p0, while this one runs on another CPU (with one
    // CPU: AfterAnswer). A failure here is retried before the next program.
    if (spawn_while_running_) Spawn();
    exited = false;
    end = WaitForEnd(done, pid, timeout_ms, progress, &exited);
    waited_ns_ = MonotonicNs();
    running_done_ = done;
    running_pgid_ = pid;
    running_timeout_ms_ = timeout_ms;
    if (!exited) break;
    Reap();
    if (shared_->first_op_ns != 0 || shared_->nops == 0) break;
  }
  if (exited) {
    // Every program process is gone but the program did not end: the last
    // one died (the OOM killer, a signal) before its SIGCHLD was read.
    if (shared_->turn.load() != kTurnDone && shared_->pc < shared_->nops &&
        shared_->results[shared_->pc].kind == static_cast<uint8_t>(ResultKind::kNone))
      shared_->results[shared_->pc].kind = static_cast<uint8_t>(ResultKind::kLost);
  }
  // The regular files of the program's `file` ops (ops.cc: one path per
  // slot), gone with the trace: a process still exiting keeps its own
  // reference to its file.
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
  MarkMemoryLimit(&trace);
  if (!answer_before_exit_) Reap();
  return trace;
}

// A run that hit the cap is not judged: the kernel answered a limit the
// model does not know (ENOMEM, reclaim, the OOM killer).
void ProgramRunner::MarkMemoryLimit(Trace* trace) {
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
    // The count after the program before is the one before this program:
    // between programs no program process runs (a spare only waits).
    uint64_t events = memcap_.LimitEvents();
    hit = events != limit_events_;
    limit_events_ = events;
  }
  if (!hit) return;
  trace->end = TraceEnd::kMemoryLimit;
  uint64_t peak = memcap_.Peak();
  trace->console = "the program hit the memory cap (" + memcap_.Describe() + ")" +
                   (peak ? "; peak " + std::to_string(peak >> 20) + " MiB" : "");
}

}  // namespace mmdiff::exec
