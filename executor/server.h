// The executor server: answers probe and run requests on a channel until the
// channel closes or a quit request arrives. Long-lived: one ProgramRunner,
// one fork per program.
#pragma once

#include <cstdint>

#include "executor/channel.h"

namespace mmdiff::exec {

// Returns the process exit code: 0 after kQuit or end of stream, 1 when the
// runner cannot start. `watch_kmsg` (a guest, where the kernel is ours):
// after each program, new /dev/kmsg records that show a splat end the trace
// as kKernelSplat with those records as its console excerpt. `memory_max`:
// the cap on each program's memory in bytes (0: none; runner.h).
int Serve(Channel* channel, bool watch_kmsg = false, uint64_t memory_max = 0);

}  // namespace mmdiff::exec
