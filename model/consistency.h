// The consistency oracle (docs/CONTRACT.md §14): the kernel checked against
// itself. The executor asks the same question twice, through pagemap and
// through PAGEMAP_SCAN (prog/result.h CrossAnswer), and a scan split by
// max=/vec= again unsplit; the two answers must agree whatever the model
// knows. Needs no model state: only the trace.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>

#include <vector>

#include "model/allowance.h"
#include "prog/program.h"
#include "prog/result.h"

namespace mmdiff {

// Comparisons made (one per op and kind: pagemap-vs-scan, scan-vs-scan) and
// comparisons not applicable (the op answered, but there was no second
// answer to compare: no PAGEMAP_SCAN, a failed second call, a split scan with
// wp_matching, which changed what a second scan would see, or whose resumed
// walk failed: check_wpasync reaching a VMA the first call stopped short of).
struct ConsistencyTally {
  uint64_t checks = 0;
  uint64_t skipped = 0;
  uint64_t excused = 0;  // inconsistencies a known quirk explains
};

struct Inconsistency {
  size_t op_index = 0;
  // DIVERGENCE inconsistent op=3 "pagemap 0 1" page=0 field=file pagemap=1 scan=0 ...
  std::string line;
  // Without page numbers or op indices: what disagreed and how.
  std::string signature;
  // Bits of Quirk: a known quirk of the kernel (QuirkSet) explains it. It is
  // then not a divergence: it goes to `excused` (docs/CONTRACT.md §14).
  uint32_t quirk_bits = 0;
};

// The first inconsistency of the trace no known quirk explains, if any.
// `features`: Feature bits of the kernel (soft-dirty is compared only where
// the kernel has it); `quirks`: the known quirks of the kernel; `excused`
// receives the first inconsistency of each op that one of them explains.
std::optional<Inconsistency> CheckConsistency(const Program& prog, const Trace& trace, uint32_t features,
                                              QuirkSet quirks, ConsistencyTally* tally,
                                              std::vector<Inconsistency>* excused);

}  // namespace mmdiff
