// The THP and hugetlb pages the kernel says a VMA maps, read from
// /proc/self/smaps inside a process under test (no allocation: proc.h), for
// the consistency oracle's `huge` comparison (docs/CONTRACT.md §14).
#pragma once

#include <cstdint>

#include "executor/shared_state.h"

namespace mmdiff::exec {

// Fills `out` (room for `max`) with every VMA overlapping [lo, hi) (raw
// addresses), in address order. Returns how many, or -1 when smaps could not
// be read or more VMAs overlap than fit.
int ReadSmapsHuge(uint64_t lo, uint64_t hi, SmapsVma* out, int max);

}  // namespace mmdiff::exec
