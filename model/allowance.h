// Named latitudes and quirks.
//
// An *allowance* is latitude the contract gives the kernel (SEMANTICS.md §6):
// where the model predicts "either", it names the allowance, and the checker
// counts how often the kernel took it. A *quirk* is a known kernel bug
// (corpus/QUIRKS.md): allowed only when the profile switches it on by name.
// Neither is ever a silent `if` in the model.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string_view>

namespace mmdiff {

enum class Allowance : uint8_t {
  // §6 item 3, §5.9: PAGE_IS_WRITTEN of an untouched page in a non-uffd VMA
  // depends on whether a PTE table exists for its 2 MiB slot, which PT_RECLAIM
  // may have freed after MADV_DONTNEED of a whole slot.
  kPageTableMayBeReclaimed,
  // §6 item 7: MADV_FREE'd pages may be discarded by reclaim at any time.
  kLazyfreeMayBeDiscarded,
};
constexpr int kNumAllowances = 2;

std::string_view AllowanceName(Allowance a);
using AllowanceCounts = std::array<uint32_t, kNumAllowances>;

// Known kernel bugs, switched on per profile. Empty for now: the first entries
// come with corpus/QUIRKS.md.
enum class Quirk : uint8_t {
  // PAGEMAP_SCAN keeps walk_end from an earlier bounce-buffer stop when the
  // re-walk completes (>512 regions; SEMANTICS.md §5.6, [EMP] 6.18.44).
  kScanStaleWalkEnd,
};
constexpr int kNumQuirks = 1;

std::string_view QuirkName(Quirk q);
std::optional<Quirk> QuirkByName(std::string_view name);

struct QuirkSet {
  uint32_t bits = 0;
  bool Has(Quirk q) const { return bits & (1u << static_cast<int>(q)); }
  void Set(Quirk q) { bits |= 1u << static_cast<int>(q); }
  bool operator==(const QuirkSet&) const = default;
};

}  // namespace mmdiff
