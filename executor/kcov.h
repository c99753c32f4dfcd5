// Kernel code coverage of the processes under test, where the kernel has
// KCOV (CONFIG_KCOV, /sys/kernel/debug/kcov; Documentation/dev-tools/kcov.rst):
// each program process traces its own syscalls and faults (KCOV_TRACE_PC
// is per task) and, after each of its ops, folds the PCs into edges
// (prev_pc, pc) hashed into the shared edge map (ExecShared::kcov).
// The server turns the map into Trace::kernel_cov. A kernel without KCOV,
// or a server not asked for it, never opens the device: no cost.
//
// KcovStart/KcovCollect/KcovAfterFork run inside the processes under test:
// no allocation (proc.h).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "executor/shared_state.h"

namespace mmdiff::exec {

// The device (kernel/kcov.c kcov_init(): debugfs "kcov").
constexpr char kKcovPath[] = "/sys/kernel/debug/kcov";

// Server side: whether this kernel has KCOV (opens and closes the device
// once; debugfs must be mounted). `why` says why not.
bool KcovAvailable(std::string* why);

// Program process: opens a kcov device of its own, maps its buffer and
// enables tracing for this task. Does nothing unless shared->kcov_on. A
// failure leaves this process untraced (its coverage is simply absent).
void KcovStart(ExecShared* shared);
// Program process, after each op: the edges traced since the last call
// into the shared map; the buffer starts over.
void KcovCollect(ExecShared* shared);
// Child of a fork op: the parent's device and buffer are the parent's
// (KCOV is per task, and the mapping is the parent's area): drops them and
// starts its own.
void KcovAfterFork(ExecShared* shared);

// Server side, after a run: the set bits of the map as features, sorted; clears it.
std::vector<uint32_t> KcovTakeFeatures(ExecShared* shared);

// One edge into the map: exposed for tests.
void KcovAddEdge(ExecShared* shared, uint64_t prev_pc, uint64_t pc);

}  // namespace mmdiff::exec
