// What the executor leaves on its machine while it runs, and how it is undone
// however the executor ends: its temporary directory (the `file` slots, a
// reproducer binary) and the system-wide knobs it was asked to change.
//
// The directory is BASE/mmdiff-exec.PID.XXXXXX (BASE: $TMPDIR or /tmp), PID
// the executor's, for people; the executor holds an flock on it while it
// lives, for executors: a directory whose lock is free belongs to an executor
// that is gone (even one killed with SIGKILL, even in another PID namespace),
// and the next executor to start restores the knobs recorded in it and
// removes it. A knob is recorded before it is changed, in a state file
// `knob.N` of the directory ("PATH\nORIGINAL\n").
#pragma once

#include <sys/types.h>

#include <string>

namespace mmdiff::exec {

// Removes the stale directories under `base` (see above), then creates and
// locks this executor's own. Empty with `err` set on failure.
std::string MakeExecDir(const std::string& base, std::string* err);

// Restores and removes what `dir` records and holds, for the directory's
// owner at its end: when Serve returns, and from the handlers of SIGTERM
// (PR_SET_PDEATHSIG when mmdiff dies), SIGINT and SIGHUP, which then end the
// process by the signal. Only the process that calls it acts in the
// handlers; program processes forked later keep the default actions.
void CleanUpExecDirAtExit(const std::string& dir);

// The process group of the program running now (0: none), killed by those
// handlers first: its processes past p0 (forked by the program) have no
// PR_SET_PDEATHSIG of their own and would outlive the executor.
void SetProgramGroupToKill(pid_t pgid);

// Restores the knobs recorded in `dir` and removes its files and itself.
// Async-signal-safe: system calls and fixed buffers only.
void RemoveExecDir(const char* dir);

// Removes the directories under `base` whose owner is gone, restoring their
// knobs first. Returns how many it removed.
int RemoveStaleExecDirs(const std::string& base);

// The same ownership for the directories of others than executors: a QEMU
// guest's work directory (target/qemu_target.cc, prefix "mmdiff-vm."),
// which a process killed with SIGKILL (an engine's AFL++ child on a
// timeout) leaves behind. BASE/PREFIXPID.XXXXXX, created after removing the
// stale directories of `prefix` and locked by this process until it closes
// *lock_fd (-1 without flock()), which its owner does once it has removed
// the directory itself. Empty with `err` set on failure.
std::string MakeOwnedDir(const std::string& base, const std::string& prefix, int* lock_fd, std::string* err);
int RemoveStaleOwnedDirs(const std::string& base, const std::string& prefix);

// Writes `value` to the knob file `knob` (a /sys or /proc tunable) after
// recording its present value in `dir`. False with `err` set when the knob
// cannot be read or written (its value is then unchanged).
bool PinKnob(const std::string& knob, const std::string& value, const std::string& dir, std::string* err);

// The first line of the knob file `path`; empty when it cannot be read.
std::string ReadKnob(const std::string& path);

}  // namespace mmdiff::exec
