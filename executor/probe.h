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
// the kernel's own terms. The model predicts one page per fault, so the
// executor pins the tunable to one page (a global setting: mounts debugfs if
// needed). Returns the value now in force, 0 if debugfs is unavailable.
uint64_t PinFaultAround();

// The filesystem `file` slots live on ($TMPDIR): on tmpfs a regular file is
// shmem, another memory kind than the model assumes for `file`.
std::string FileSlotFilesystem();

}  // namespace mmdiff::exec
