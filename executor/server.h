// The executor server: answers probe and run requests on a channel until the
// channel closes or a quit request arrives. Long-lived: one ProgramRunner,
// one fork per program.
#pragma once

#include <cstdint>

#include "executor/channel.h"

namespace mmdiff::exec {

struct ServeOptions {
  // A guest's /init, where the kernel and the machine are ours: after each
  // program, new /dev/kmsg records that show a splat end the trace as
  // kKernelSplat with those records as its console excerpt; debugfs is
  // mounted when fault-around is pinned; no exit handlers (PID 1).
  bool guest = false;
  // Pin fault_around_bytes to one page while serving (probe.h). On the
  // user's machine only when asked (mmdiff --pin-fault-around), and restored
  // at the end (exec_dir.h).
  bool pin_fault_around = false;
  // The cap on each program's memory in bytes (0: none; runner.h, memcap.h).
  uint64_t memory_max = 0;
  // The capped group may swap (a guest given a swap device: without it a
  // cgroup v2 cap with memory.swap.max = 0 keeps MADV_PAGEOUT from
  // swapping anything, mm/vmscan.c can_reclaim_anon_pages()).
  bool may_swap = false;
  // Collect each program's kernel coverage where the kernel has KCOV
  // (kcov.h); sent after the trace in the kTrace reply (prog/binary.h
  // EncodeKernelCoverage). Off: the device is never opened.
  bool kcov = false;
  // The CPU the server and its programs run on (-1: any). mmdiff gives each
  // local executor its own (target/local_target.cc): a program's processes,
  // its uffd handler and the server then hand over to each other on one
  // CPU, where a wake-up is cheap, instead of between CPUs, where it costs
  // tens of microseconds on a virtual machine.
  int cpu = -1;
};

// Returns the process exit code: 0 after kQuit or end of stream, 1 when the
// runner cannot start. Outside a guest, SIGTERM, SIGINT and SIGHUP end it
// after removing its temporary directory and restoring what it pinned.
int Serve(Channel* channel, const ServeOptions& options = {});

}  // namespace mmdiff::exec
