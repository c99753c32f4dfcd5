#include "prog/result.h"

namespace mmdiff {

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
