// Results the model's op handlers return (model-internal).
#pragma once

#include <cstdint>

#include "prog/result.h"

namespace mmdiff {

inline Result Ok(uint8_t uffd_faults = 0) {
  Result r;
  r.kind = ResultKind::kOk;
  r.uffd_faults = uffd_faults;
  return r;
}

inline Result Err(int e) {
  Result r;
  r.kind = ResultKind::kErr;
  r.err = e;
  return r;
}

inline Result Value(int64_t v) {
  Result r;
  r.kind = ResultKind::kValue;
  r.value = v;
  return r;
}

}  // namespace mmdiff
