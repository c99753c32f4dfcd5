// Where programs run: a kernel behind an executor server (local, or in a QEMU
// guest later), or the model. Callers see one interface.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "executor/channel.h"
#include "executor/exec_binary.h"
#include "prog/features.h"
#include "prog/program.h"
#include "prog/result.h"

namespace mmdiff {

// How a guest's executor talks to the host (TargetOptions::channel).
enum class GuestChannel { kShm, kSerial };

struct TargetOptions {
  std::string executor_path;    // empty: mmdiff-executor beside this binary, or $MMDIFF_EXECUTOR
  // A program making no progress (no op completes, no page fault) for this
  // long is a hang; one still progressing gets 4 times as long, then ends
  // as a time limit (executor/runner.h).
  int program_timeout_ms = 5000;
  // local: the cap on the memory of a program's processes (a memory cgroup,
  // else RLIMIT_AS; executor/memcap.h); 0: none. A guest caps its programs
  // at 3/4 of its RAM (executor/guest_init.cc).
  int program_memory_mb = 1024;
  // local: the executor pins fault_around_bytes to one page while it runs (a
  // system-wide knob, restored when it ends). A guest always pins it.
  bool pin_fault_around = false;
  // local: the executor and its programs run on one CPU, each local target
  // of this process on the next of the CPUs it may use (executor/server.h
  // ServeOptions::cpu); false: wherever the scheduler puts them.
  bool executor_on_one_cpu = true;
  // qemu:
  std::string kernel;           // bzImage; empty: Debian's cloud kernel `guest` (vmimages/fetch-kernel)
  std::string guest;            // which Debian cloud kernel: "6.12" (empty: the default) or "6.1"
  std::string append;           // extra kernel command-line options
  bool kvm = false;             // accel=kvm instead of TCG
  int boot_timeout_ms = 60000;  // boot to the executor's first answer
  int guest_margin_ms = 15000;  // past the program's time bound, a silent guest is hung
  int memory_mb = 1024;  // below 512 MiB the kernel turns THP off (mm/huge_memory.c hugepage_init)
  // A zram swap device of this many MiB in the guest (0: none): MADV_PAGEOUT
  // of anonymous memory then makes swap entries (executor/guest_init.cc).
  int swap_mb = 0;
  // khugepaged scans without pause, with the kernel's own limits, instead
  // of being tamed (executor/guest_init.cc SetUpThp).
  bool khugepaged = false;
  // How the host and the guest's executor exchange messages: kShm puts
  // them in a shared region (QEMU's ivshmem-plain device, backed by a file
  // in /dev/shm; executor/shm_channel.h) with the virtio-serial port
  // ringing a doorbell; kSerial sends them on the virtio-serial port.
  // A guest that cannot map the region (lockdown, a kernel without PCI in
  // sysfs) uses the port alone either way.
  // The default is the faster in bench/throughput's side-by-side
  // measurement, and neither is: on the 6.12 guest under TCG (6 s per side,
  // three runs on the shared 2-core machine) shared memory / virtio-serial
  // was 1.06, 1.02, 1.00 in programs/s, while the channel's own part of a
  // program's time (the host's wall time less the executor's) was 238, 259,
  // 244 us over shared memory against 193, 217, 241 us over the port: the
  // rate's lead came from the guests' phases the channel does not touch.
  // A message costs its notifications, which the doorbell keeps; the
  // payload's copies are noise even for 2 and 8 MiB traces. So the port
  // alone, the path with fewer parts (no /dev/shm file, no PCI device).
  GuestChannel channel = GuestChannel::kSerial;
  // Ask the guest's executor for each program's kernel coverage
  // (Trace::kernel_cov; executor/kcov.h): a campaign's feedback. A kernel
  // without KCOV sends none. Off: the guest never opens the device.
  bool kernel_coverage = false;
};

class Target {
 public:
  virtual ~Target() = default;
  // The kernel's features, measured once by the executor.
  virtual bool Probe(KernelFeatures* out, std::string* err) = 0;
  // Runs a validated program. False only when the target itself failed (the
  // executor died or stopped answering); it restarts on the next call.
  virtual bool Run(const Program& prog, Trace* out, std::string* err) { return Send(prog, err) && Receive(out, err); }
  // Run's two halves, for a caller that judges one program while the next
  // runs (fuzz/campaign.cc Worker, through PipelinedTarget): Send starts
  // `prog` and returns; Receive waits for the oldest program's trace. Up to
  // MaxInFlight() programs sent, then Receive; no other call while any is
  // in flight. Either returns false only when the target itself failed, as
  // Run; the programs in flight are then lost.
  virtual bool Send(const Program& prog, std::string* err) = 0;
  virtual bool Receive(Trace* out, std::string* err) = 0;
  // How many programs may be sent before the first is received (through
  // PipelinedTarget, which keeps the order and the bound).
  virtual int MaxInFlight() const { return 1; }
  // Benchmarks: how many programs the executor's bare C loop
  // (executor/bare_loop.h) runs in `ms` on this target's kernel.
  virtual bool BareLoop(int ms, long* programs, std::string* err) = 0;
  // Benchmarks: where the executor's time per program went (channel.h).
  virtual bool Timings(RunTimings* out, std::string* err) = 0;
  // Runs a static binary (a C reproducer) on this target's kernel with
  // `args`, killed after `timeout_ms`. False when it could not be run there.
  virtual bool RunBinary(const std::vector<uint8_t>& binary, const std::vector<std::string>& args, int timeout_ms,
                         BinaryRun* out, std::string* err) = 0;
  // What carries the messages to the executor now ("shared memory",
  // "virtio-serial", "pipes", ...; empty before a guest booted): what a
  // benchmark or a test asked for may have fallen back.
  virtual std::string ChannelInUse() const = 0;
};

// The executor as a child process of this one, on the running kernel.
std::unique_ptr<Target> MakeLocalTarget(const TargetOptions& options, std::string* err);

// A QEMU guest booting options.kernel with the static executor as /init.
// Boots lazily on first use; reboots after a splat, a hang or a crash.
std::unique_ptr<Target> MakeQemuTarget(const TargetOptions& options, std::string* err);

// The executor binary to start: options.executor_path, else $MMDIFF_EXECUTOR,
// else mmdiff-executor in the directory of the running binary.
std::string FindExecutor(const TargetOptions& options);

}  // namespace mmdiff
