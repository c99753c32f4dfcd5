// Server side of one program run: fork p0, wait for the program to finish,
// a process to die, or the timeout, and turn the shared results into a Trace.
#pragma once

#include <string>

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
  // SIGCHLD for its signalfd. False with `err` set.
  bool Init(std::string* err);

  // Runs a validated program. An op that was running when the timeout hit is
  // kHang, one whose process died is kLost; ops after it are kNone.
  Trace Run(const Program& prog, int timeout_ms);

  // return_mask of a scan without ret=: every category the kernel accepts.
  void set_scan_default_ret(uint32_t mask) { scan_default_ret_ = mask; }
  const std::string& tmpdir() const { return tmpdir_; }

 private:
  void Reset(const Program& prog);
  bool WaitForEnd(int done_fd, pid_t pgid, int timeout_ms);
  Trace CollectTrace() const;

  ExecShared* shared_ = nullptr;
  int sigchld_fd_ = -1;
  uint32_t scan_default_ret_ = 0;
  std::string tmpdir_;
};

}  // namespace mmdiff::exec
