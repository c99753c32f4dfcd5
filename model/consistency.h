// The consistency oracle (docs/CONTRACT.md §14): the kernel checked against
// itself. The executor asks the same question twice, through pagemap and
// through PAGEMAP_SCAN (prog/result.h CrossAnswer), a scan split by
// max=/vec= again unsplit, a filtered scan again unfiltered, and smaps for
// the pages PMDs map; the answers must agree whatever the model knows.
// Needs no model state: only the trace.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>

#include <vector>

#include "model/allowance.h"
#include "model/mutant.h"
#include "prog/program.h"
#include "prog/result.h"

namespace mmdiff {

// Comparisons made (one per op and kind: pagemap-vs-scan, scan-vs-scan) and
// comparisons not applicable (the op answered, but there was no second
// answer to compare: no PAGEMAP_SCAN, a failed second call, a split scan with
// wp_matching, which changed what a second scan would see, or whose resumed
// walk failed: check_wpasync reaching a VMA the first call stopped short of).
// `checks` counts every kind; `split`, `huge` and `mask` the ones of their
// kind among them (the rest are pagemap-vs-scan).
struct ConsistencyTally {
  uint64_t checks = 0;
  uint64_t skipped = 0;
  uint64_t excused = 0;  // inconsistencies a known quirk explains
  uint64_t split = 0;    // a split scan against the unsplit one
  uint64_t huge = 0;     // PAGE_IS_HUGE against smaps, per VMA
  uint64_t mask = 0;     // a filtered scan (req=, inv=, any=, ret=) against the unfiltered one
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
// `mutant`: one of the oracle's own rules broken on purpose (model/mutant.h).
std::optional<Inconsistency> CheckConsistency(const Program& prog, const Trace& trace, uint32_t features,
                                              QuirkSet quirks, ConsistencyTally* tally,
                                              std::vector<Inconsistency>* excused, Mutant mutant = Mutant::kNone);

}  // namespace mmdiff
