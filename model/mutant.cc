#include "model/mutant.h"

#include "prog/op.h"

namespace mmdiff {
namespace {

constexpr MutantInfo kMutants[] = {
    {Mutant::kForkDropsUffdWp, "fork-drops-uffd-wp",
     "with EVENT_FORK the child keeps uffd-wp (fs/userfaultfd.c dup_userfaultfd)", kFeatUffdWp},
    {Mutant::kAsyncWriteKeepsWp, "async-write-keeps-wp",
     "an async uffd-wp write clears the page's wp bit (mm/memory.c do_wp_page)", kFeatWpAsync},
    {Mutant::kDontneedKeepsAnon, "dontneed-keeps-anon",
     "MADV_DONTNEED zaps private anonymous pages (mm/madvise.c)", 0},
    {Mutant::kCowWriteSharesPage, "cow-write-shares-page",
     "a write after fork copies the page (mm/memory.c wp_page_copy)", 0},
    {Mutant::kClearRefsKeepsSoftDirty, "clear-refs-keeps-soft-dirty",
     "clear_refs 4 clears soft-dirty (fs/proc/task_mmu.c clear_soft_dirty)", kFeatSoftDirty},
    {Mutant::kScanIgnoresMaxPages, "scan-ignores-max-pages",
     "PAGEMAP_SCAN stops at max_pages (fs/proc/task_mmu.c pagemap_scan_output)", kFeatPagemapScan},
    {Mutant::kHugeCountsZeroPage, "huge-counts-zero-page",
     "consistency: smaps counts no huge zero PMD (fs/proc/task_mmu.c smaps_pmd_entry)",
     kFeatPagemapScan | kFeatThp},
    {Mutant::kMaskIgnoresInverted, "mask-ignores-inverted",
     "consistency: inv= inverts categories (fs/proc/task_mmu.c pagemap_scan_is_interesting_page)",
     kFeatPagemapScan},
    {Mutant::kSplitIgnoresResumed, "split-ignores-resumed",
     "consistency: a scan cut by max= resumes at walk_end (fs/proc/task_mmu.c pagemap_scan_output)",
     kFeatPagemapScan},
};

}  // namespace

std::span<const MutantInfo> AllMutants() { return kMutants; }

const MutantInfo* MutantByName(std::string_view name) {
  for (const MutantInfo& m : kMutants)
    if (name == m.name) return &m;
  return nullptr;
}

std::string_view MutantName(Mutant m) {
  for (const MutantInfo& info : kMutants)
    if (info.mutant == m) return info.name;
  return "none";
}

}  // namespace mmdiff
