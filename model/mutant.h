// Model mutants: the model with one named rule deliberately broken, to prove
// the pipeline end to end. A campaign against a mutant must find the broken
// rule as a divergence on a correct kernel (tests/campaign: each within 60 s
// on the local kernel). The model checks its profile's mutant only at the one
// place each rule lives.
#pragma once

#include <cstdint>
#include <span>
#include <string_view>

namespace mmdiff {

enum class Mutant : uint8_t {
  kNone,
  kForkDropsUffdWp,          // fork with EVENT_FORK: the child loses uffd-wp bits
  kAsyncWriteKeepsWp,        // an async uffd-wp write leaves the page write-protected
  kDontneedKeepsAnon,        // MADV_DONTNEED leaves private anonymous pages mapped
  kCowWriteSharesPage,       // a write after fork also changes the other process's page
  kClearRefsKeepsSoftDirty,  // clear_refs 4 does not clear soft-dirty (needs soft-dirty)
  kScanIgnoresMaxPages,      // PAGEMAP_SCAN reports past max_pages
  // The consistency oracle's rules (model/consistency.cc), broken the same
  // way: each makes its comparison fire on a correct kernel.
  kHugeCountsZeroPage,       // smaps counts the huge zero PMD as a PMD mapping
  kMaskIgnoresInverted,      // a scan's inv= does not invert categories
  kSplitIgnoresResumed,      // a split scan's answer ends at walk_end: no resumed walk
};

struct MutantInfo {
  Mutant mutant;
  const char* name;
  const char* rule;           // the rule it breaks, for --help
  uint32_t needs;             // Feature bits (prog/op.h) a kernel needs to show it
};

std::span<const MutantInfo> AllMutants();  // kNone excluded
const MutantInfo* MutantByName(std::string_view name);  // nullptr: no such mutant
std::string_view MutantName(Mutant m);

}  // namespace mmdiff
