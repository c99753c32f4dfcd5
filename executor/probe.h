// `mmdiff probe`: what the running kernel supports, measured in this process.
#pragma once

#include "prog/features.h"

namespace mmdiff::exec {

// Maps and unmaps a few scratch pages of its own (never in the arena) and
// writes 4 to its own clear_refs.
KernelFeatures ProbeKernel();

}  // namespace mmdiff::exec
