// The C of an `inconsistent` finding's check (model/consistency.h): the
// kernel disagreed with itself, so the reproducer redoes the step and the
// second look the executor took after it, and checks the relation the
// oracle checks, page by page. Checking the step's own answer against
// itself (what a divergence's check does) would pass on the broken kernel.
//   mask, ret  a filtered scan against the same range unfiltered
//              (pagemap_scan_is_interesting_page())
//   huge       PAGE_IS_HUGE pages against smaps' PMD-mapped sizes
//   split      a scan cut by max=/vec= and resumed at walk_end against
//              the same scan unsplit (pagemap_scan_output())
//   a field    pagemap's bit against the scan's category of one page
// With a model mutant that breaks one of these rules (model/mutant.h), the
// C checks the broken rule, as the finding's oracle did.
#pragma once

#include <cstdint>
#include <set>
#include <string>

#include "model/mutant.h"
#include "prog/op.h"

namespace mmdiff::repro_detail {

struct ConsistencyCheck {
  std::string field;  // "mask", "huge", "split", or a pagemap field ("present", ...)
  uint32_t page = 0;  // the page a field or mask mismatch is at
  uint32_t vma_start = 0, vma_end = 0;  // huge: the VMA compared
};

// From an inconsistent divergence's line ("field=... page=... vma=[a,b)");
// false for a check the C cannot redo (the zero page's PFN).
bool ParseConsistency(const std::string& line, ConsistencyCheck* out);

// pm_scan() with op's filters, flags and ret= (`all`: the C for every
// category, asked where a scan has no ret= and by the unfiltered look),
// cats_at(), and smaps_huge() for a huge check.
std::string CConsistencyHelpers(const Op& op, const ConsistencyCheck& c, const std::string& all,
                                std::set<std::string>* uses);

// Step `index` (op) and its check, as a block of main() (`all` as above).
std::string CConsistencyStep(size_t index, const Op& op, const ConsistencyCheck& c, Mutant mutant,
                             const std::string& all, std::set<std::string>* uses);

}  // namespace mmdiff::repro_detail
