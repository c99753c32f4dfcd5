#include "model/allowance.h"

namespace mmdiff {
namespace {

constexpr std::string_view kAllowanceNames[] = {
    "vma-softdirty-on-merge",
    "page-table-may-be-reclaimed",
    "thp-may-back-anon",
    "lazyfree-may-be-discarded",
    "pagecache-exclusive",
};
static_assert(std::size(kAllowanceNames) == kNumAllowances);

constexpr std::string_view kQuirkNames[] = {
    "softdirty-not-sticky-on-merge",
};
static_assert(std::size(kQuirkNames) == kNumQuirks);

}  // namespace

std::string_view AllowanceName(Allowance a) { return kAllowanceNames[static_cast<int>(a)]; }
std::string_view QuirkName(Quirk q) { return kQuirkNames[static_cast<int>(q)]; }

std::optional<Quirk> QuirkByName(std::string_view name) {
  for (int i = 0; i < kNumQuirks; i++)
    if (kQuirkNames[i] == name) return static_cast<Quirk>(i);
  return std::nullopt;
}

}  // namespace mmdiff
