#include "model/allowance.h"

namespace mmdiff {
namespace {

constexpr std::string_view kAllowanceNames[] = {
    "page-table-may-be-reclaimed",
    "lazyfree-may-be-discarded",
};
static_assert(std::size(kAllowanceNames) == kNumAllowances);

constexpr std::string_view kQuirkNames[] = {
    "scan-stale-walk-end",
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
