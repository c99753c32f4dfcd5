#include "prog/result.h"

namespace mmdiff {

namespace {

constexpr PagemapBit kPagemapBits[] = {
    {'P', kPmPresent, 63, "present"},       {'S', kPmSwap, 62, "swapped"},
    {'F', kPmFile, 61, "file/shared-anon"}, {'X', kPmMmapExclusive, 56, "exclusively mapped"},
    {'W', kPmUffdWp, 57, "uffd-wp"},        {'D', kPmSoftDirty, 55, "soft-dirty"},
    {'G', kPmGuardRegion, 58, "guard region"},
};
// Divergences name the tracked bits first: soft-dirty, uffd-wp, then the rest.
constexpr char kReportOrder[] = "DWPSFXG";

}  // namespace

std::span<const PagemapBit> PagemapBits() { return kPagemapBits; }

const PagemapBit* PagemapBitByLetter(char letter) {
  for (const PagemapBit& b : kPagemapBits)
    if (b.letter == letter) return &b;
  return nullptr;
}

const char* PagemapReportOrder() { return kReportOrder; }

const PagemapBit* FirstPagemapDifference(const Result& expected, const Result& observed, size_t* index) {
  for (size_t i = 0; i < expected.pagemap.size() && i < observed.pagemap.size(); i++) {
    uint64_t either = i < expected.either.size() ? expected.either[i] : 0;
    uint64_t diff = (expected.pagemap[i] ^ observed.pagemap[i]) & kPmShownBits & ~either;
    for (const char* c = kReportOrder; *c; c++)
      if (const PagemapBit* b = PagemapBitByLetter(*c); diff & b->bit) {
        *index = i;
        return b;
      }
  }
  return nullptr;
}

bool ResultMatches(const Result& expected, const Result& observed) {
  if (expected.kind != observed.kind) return false;
  switch (expected.kind) {
    case ResultKind::kPagemap: {
      if (expected.pagemap.size() != observed.pagemap.size()) return false;
      for (size_t i = 0; i < expected.pagemap.size(); i++) {
        uint64_t care = kPmShownBits & ~(i < expected.either.size() ? expected.either[i] : 0);
        if ((expected.pagemap[i] ^ observed.pagemap[i]) & care) return false;
      }
      return true;
    }
    case ResultKind::kValue:
      return expected.value == observed.value && expected.uffd_faults == observed.uffd_faults &&
             (!expected.is_scan || (observed.is_scan && expected.regions == observed.regions &&
                                    expected.walk_end == observed.walk_end));
    case ResultKind::kOk:
      return expected.uffd_faults == observed.uffd_faults;
    case ResultKind::kErr:
      return expected.err == observed.err && expected.uffd_faults == observed.uffd_faults;
    case ResultKind::kFault:
      return expected.signal == observed.signal && expected.uffd_faults == observed.uffd_faults;
    case ResultKind::kNone:
    case ResultKind::kHang:
    case ResultKind::kLost:
      return true;
  }
  return false;
}

}  // namespace mmdiff
