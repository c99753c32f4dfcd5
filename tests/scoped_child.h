// A child process a test started (mmdiff, an engine, a helper that waits to
// be killed), ended however the test ends: an ASSERT that returns early
// must not leave it running, with its executor or its guest, writing into
// a temporary directory that is being removed.
#pragma once

#include <signal.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <utility>

namespace mmdiff::testutil {

class ScopedChild {
 public:
  // `stop`: the signal that lets it clean up (mmdiff's SIGINT/SIGTERM
  // handlers remove its files and stop its guests); after `grace_ms`
  // without an exit, SIGKILL.
  explicit ScopedChild(pid_t pid, int stop = SIGTERM, int grace_ms = 10000)
      : pid_(pid), stop_(stop), grace_ms_(grace_ms) {}
  // Unless the test reaped it itself (waitpid is free to use as before).
  ~ScopedChild() { Stop(); }
  ScopedChild(ScopedChild&& other) noexcept
      : pid_(std::exchange(other.pid_, -1)), stop_(other.stop_), grace_ms_(other.grace_ms_) {}
  ScopedChild(const ScopedChild&) = delete;
  ScopedChild& operator=(const ScopedChild&) = delete;
  ScopedChild& operator=(ScopedChild&&) = delete;

  pid_t pid() const { return pid_; }

  void Stop() {
    if (pid_ <= 0) return;
    pid_t pid = std::exchange(pid_, -1);
    int status;
    // 0: still running, and still ours (only a wait frees its pid), so the
    // signals cannot reach a process that took over a reaped child's pid.
    // The pid back: it had ended. -1 (ECHILD): the test reaped it.
    if (waitpid(pid, &status, WNOHANG) != 0) return;
    kill(pid, stop_);
    for (int waited = 0; waited < grace_ms_; waited += 50) {
      if (waitpid(pid, &status, WNOHANG) != 0) return;
      usleep(50 * 1000);
    }
    kill(pid, SIGKILL);
    waitpid(pid, &status, 0);
  }

 private:
  pid_t pid_;
  int stop_, grace_ms_;
};

}  // namespace mmdiff::testutil
