// Children that die with mmdiff. PR_SET_PDEATHSIG follows the thread that
// forked, not the process: a guest forked by a worker thread would be
// killed when that thread ends, and one forked without it outlives an
// mmdiff that is killed or crashes (a stopped QEMU then waits forever).
// ForkDyingWithProcess() forks from one thread that lives as long as the
// process, and the child asks for SIGKILL when that thread, i.e. the
// process, goes.
#pragma once

#include <sys/types.h>

#include <functional>

namespace mmdiff {

// In the child: PR_SET_PDEATHSIG(SIGKILL), then `in_child`, which must not
// return (it execs, else _exit()s). Returns the child's pid, or -1 with errno.
pid_t ForkDyingWithProcess(const std::function<void()>& in_child);

}  // namespace mmdiff
