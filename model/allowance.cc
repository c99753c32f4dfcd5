#include "model/allowance.h"

namespace mmdiff {
namespace {

constexpr std::string_view kAllowanceNames[] = {
    "page-table-may-be-reclaimed",
    "lazyfree-may-be-discarded",
    "fault-around-may-map",
    "reclaim-may-unmap",
    "reuse-may-copy",
    "large-folio-exclusive",
    "thp-may-fall-back",
    "khugepaged-may-collapse",
    "large-folio-split-may-unmap",
};
static_assert(std::size(kAllowanceNames) == kNumAllowances);

// The names of corpus/QUIRKS.md (and of corpus/quirks/NAME.mmp).
constexpr std::string_view kQuirkNames[] = {
    "softdirty_lost_on_merge",
    "shmem_drop_page_keeps_uffd_wp_marker",
    "huge_zero_page_pagemap_file",
    "scan_stale_walk_end",
    "uffd_unregister_other_ctx",
    "mremap_merge_drops_uffd_registration",
    "guard_install_livelock_on_uffd_wp",
    "softdirty_lost_on_uffd_wp_resolve",
    "softdirty_lost_on_mremap_pmd_move",
    "softdirty_lost_on_fork_marker",
    "hugetlb_fork_keeps_uffd_wp",
};
static_assert(std::size(kQuirkNames) == kNumQuirks);

}  // namespace

std::string_view AllowanceName(Allowance a) { return kAllowanceNames[static_cast<int>(a)]; }
std::string AllowanceLine(Allowance a, uint64_t granted, uint64_t taken) {
  return "allowance " + std::string(AllowanceName(a)) + ": granted " + std::to_string(granted) + ", taken " +
         std::to_string(taken);
}

std::string_view QuirkName(Quirk q) { return kQuirkNames[static_cast<int>(q)]; }

std::optional<Quirk> QuirkByName(std::string_view name) {
  for (int i = 0; i < kNumQuirks; i++)
    if (kQuirkNames[i] == name) return static_cast<Quirk>(i);
  return std::nullopt;
}

std::string_view Grant::Name() const {
  return quirk ? QuirkName(static_cast<Quirk>(id)) : AllowanceName(static_cast<Allowance>(id));
}

std::string QuirkList(uint32_t quirk_bits) {
  std::string out;
  for (int i = 0; i < kNumQuirks; i++) {
    if (!(quirk_bits & (1u << i))) continue;
    if (!out.empty()) out += ", ";
    out += QuirkName(static_cast<Quirk>(i));
  }
  return out;
}

}  // namespace mmdiff
