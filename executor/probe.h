// `mmdiff probe`: what the running kernel supports, measured in this process.
#pragma once

#include <string>

#include "prog/features.h"

namespace mmdiff::exec {

// Maps and unmaps a few scratch pages of its own (never in the arena) and
// writes 4 to its own clear_refs.
KernelFeatures ProbeKernel();

// Fault-around (mm/memory.c do_fault_around) maps up to fault_around_bytes of
// neighbouring, already cached pages on a read fault of a file mapping, on
// the kernel's own terms. The model predicts those pages as a doubt
// (fault-around-may-map) sized by the value in force, exact at one page.
//
// The value in force, read where debugfs is already mounted; 0 (unknown: the
// kernel default) otherwise. Changes nothing.
uint64_t ReadFaultAround();

// Pins the tunable to one page: a system-wide setting, so its value is first
// recorded in the executor's directory `dir` (exec_dir.h), which restores it
// when the executor ends. `may_mount`: mount debugfs where it is not (a
// guest; on the user's machine a mount would outlive us). Returns the value
// now in force; `err` says why it could not be pinned.
uint64_t PinFaultAround(const std::string& dir, bool may_mount, std::string* err);

// The filesystem `file` slots live on ($TMPDIR): on tmpfs a regular file is
// shmem, another memory kind than the model assumes for `file`.
std::string FileSlotFilesystem();

// The whole of a /proc, /sys or cgroup file; empty when it cannot be read.
std::string ReadFile(const std::string& path);
// Writes `value` to a /proc, /sys or cgroup file in one write(); false (errno
// set) when it could not.
bool WriteFile(const std::string& path, const std::string& value);

}  // namespace mmdiff::exec
