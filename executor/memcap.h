// The memory cap on the processes of a program (server side). A program may
// map and populate gigabytes; without a cap it takes the host's memory and
// ends as a "hang". Where the kernel offers a memory cgroup the executor
// creates one of its own and moves each program's p0 into it (its forks
// follow): cgroup v2 at the root of the unified hierarchy when the memory
// controller is enabled there, else a child of the executor's own cgroup v1
// memory group. Otherwise RLIMIT_AS, which only the kernel's mmap/mremap
// check. A guest's init enables the memory controller at its cgroup v2
// root and caps programs below the guest's RAM (guest_init.cc).
#pragma once

#include <cstdint>
#include <string>

namespace mmdiff::exec {

class MemoryCap {
 public:
  enum class Kind : uint8_t { kNone, kCgroupV2, kCgroupV1, kRlimitAs };
  MemoryCap() = default;
  ~MemoryCap();  // removes the cgroup (no program process is left in it then)
  MemoryCap(const MemoryCap&) = delete;
  MemoryCap& operator=(const MemoryCap&) = delete;

  // `bytes` 0: no cap. Never fails: without cgroups it falls back to RLIMIT_AS.
  // `may_swap`: the group may swap (else cgroup v2 memory.swap.max = 0).
  void Init(uint64_t bytes, bool may_swap = false);

  // In p0, before it runs the first op: join the cgroup or lower RLIMIT_AS.
  // No allocation (see executor/proc.h).
  void EnterInChild() const;

  // How often the group hit its limit so far (v2: memory.events max +
  // oom_kill; v1: failcnt + oom_kill): a run during which it grew hit the cap.
  uint64_t LimitEvents() const;
  // The group's peak usage in bytes (memory.peak / max_usage_in_bytes), 0 if unknown.
  uint64_t Peak() const;

  Kind kind() const { return kind_; }
  uint64_t bytes() const { return bytes_; }
  const std::string& group() const { return group_; }
  // "memory cgroup v2 /sys/fs/cgroup/mmdiff-exec.123, 1024 MiB" for messages.
  std::string Describe() const;

 private:
  bool TryV2();
  bool TryV1();
  bool Adopt(const std::string& group);

  Kind kind_ = Kind::kNone;
  uint64_t bytes_ = 0;
  bool may_swap_ = false;
  std::string group_;  // the cgroup directory
  int procs_fd_ = -1;  // its cgroup.procs, open for p0 to write "0"
  // What LimitEvents preads, open once: a path walk and a kernfs open and
  // release per read cost a guest's program a few hundred microseconds
  // under TCG. v2: memory.events; v1: memory.failcnt and memory.oom_control.
  int events_fd_ = -1;
  int oom_fd_ = -1;
};

}  // namespace mmdiff::exec
