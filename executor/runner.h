// Server side of one program run: fork p0, wait for the program to finish,
// a process to die, or the timeout, and turn the shared results into a Trace.
#pragma once

#include <string>

#include "executor/channel.h"
#include "executor/memcap.h"
#include "executor/shared_state.h"
#include "prog/program.h"
#include "prog/result.h"

namespace mmdiff::exec {

class ProgramRunner {
 public:
  ProgramRunner() = default;
  ~ProgramRunner();
  ProgramRunner(const ProgramRunner&) = delete;
  ProgramRunner& operator=(const ProgramRunner&) = delete;

  // Maps the shared block, creates the temporary directory for `file` ops
  // (under $TMPDIR or /tmp; executor/exec_dir.h; removed with the runner),
  // makes this process the subreaper of the program processes and blocks
  // SIGCHLD for its signalfd; `memory_max` bytes (0: none) caps each
  // program's memory (memcap.h). False with `err` set.
  bool Init(std::string* err, uint64_t memory_max = 0, bool may_swap = false);

  // Runs a validated program. An op that was running when the timeout hit is
  // kHang, one whose process died is kLost; ops after it are kNone.
  //
  // `timeout_ms` bounds a program that makes no progress: no op completes
  // and its processes take no page fault for that long; the running op is
  // then kHang (the kernel is stuck, or the program waits for nothing).
  // A program still progressing gets up to kSlowBoundFactor (channel.h) times as long;
  // past that it ends as TraceEnd::kTimeLimit. One that hit the memory cap
  // ends as TraceEnd::kMemoryLimit (its ops as the kernel answered them:
  // err ENOMEM, or kLost when the OOM killer took the process).
  //
  // Run returns once the trace is complete; the program's processes may
  // still be exiting (answer_before_exit) and are reaped by the next Run or
  // Quiesce. p0 of the next program is forked ahead (Spawn).
  Trace Run(const Program& prog, int timeout_ms);

  // After the trace was sent: forks the next program's p0 where Run did not
  // (one CPU: the fork then overlaps the host's checking, not the program).
  void AfterAnswer();

  // No program process left, not even the next program's p0: before the
  // server forks anything else (the bare loop, a binary).
  void Quiesce();
  // Whether Run may return before the program's processes are gone. A
  // guest's server reads /dev/kmsg after each run, and a splat of the
  // processes' exit (a bad rss-counter, a page-table check) belongs to it.
  void set_answer_before_exit(bool on) { answer_before_exit_ = on; }

  const MemoryCap& memory_cap() const { return memcap_; }

  // The last Run's milestones (CLOCK_MONOTONIC ns; channel.h RunTimings):
  // op 0 started, the last op ended (0 when the run never got there), and
  // the last program process gone.
  uint64_t first_op_ns() const { return shared_->first_op_ns; }
  uint64_t last_op_ns() const { return shared_->last_op_ns; }
  uint64_t waited_ns() const { return waited_ns_; }

  // return_mask of a scan without ret=: every category the kernel accepts.
  void set_scan_default_ret(uint32_t mask) { scan_default_ret_ = mask; }
  // Each program's processes trace their kernel coverage (kcov.h; the
  // caller checked KcovAvailable); Trace::kernel_cov gets it.
  void set_kcov(bool on) { kcov_ = on; }
  const std::string& tmpdir() const { return tmpdir_; }

 private:
  void Reset(const Program& prog);
  // kCompleted, or kTimeLimit when a progressing program hit the bound.
  TraceEnd WaitForEnd(int done_fd, pid_t pgid, int timeout_ms, uint64_t progress, bool* exited);
  uint64_t Progress() const;
  uint64_t ProgressAtGo() const;
  // Whether page faults count as progress while op `pc` runs (a range op;
  // not a read or write).
  bool FaultsCountAt(uint32_t pc) const;
  bool Spawn();
  void DropSpare();    // kills and reaps the waiting p0
  void ForgetSpare();  // the waiting p0 is gone: its pipe closed, no spare
  void Reap();
  Trace CollectTrace() const;
  // page_region[] at area+off, as arena pages.
  std::vector<ScanRegion> Regions(const uint8_t* area, uint32_t off, uint32_t count) const;
  void CollectCross(const ExecResult& e, CrossAnswer* c) const;
  void MarkMemoryLimit(Trace* trace);

  ExecShared* shared_ = nullptr;
  int sigchld_fd_ = -1;
  uint32_t scan_default_ret_ = 0;
  uint64_t zero_pfn_ = 0;
  std::string tmpdir_;
  MemoryCap memcap_;
  uint64_t waited_ns_ = 0;
  bool kcov_ = false;
  uint64_t limit_events_ = 0;  // MemoryCap::LimitEvents after the last run
  // The next program's p0, waiting for go == spare_go_, and its done pipe.
  pid_t spare_pid_ = -1;
  int spare_done_ = -1;
  uint32_t spare_go_ = 0, go_counter_ = 0;
  bool spawn_while_running_ = false;
  bool answer_before_exit_ = false;
  // The last program, until Reap: its done pipe (-1: reaped), group and
  // timeout.
  int running_done_ = -1;
  pid_t running_pgid_ = -1;
  int running_timeout_ms_ = 0;
};

}  // namespace mmdiff::exec
