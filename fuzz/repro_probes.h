// The requirement probes of a reproducer (fuzz/repro.h), as C text: one C
// function per feature a `requires` line can name, which tells whether the
// running kernel has it (a SKIP, exit 125, when not). They test what
// executor/probe.cc tests.
#pragma once

#include <vector>

#include "prog/op.h"

namespace mmdiff::repro_detail {

// One probe per feature a `requires` line can name (executor/probe.cc).
struct FeatureProbe {
  Feature feature;
  const char* fn;    // C function name
  const char* code;  // its definition
  std::vector<const char*> uses;  // uapi names
};
// In Feature bit order; a probe may call the helpers below and other probes
// (have_scan_soft_dirty calls have_soft_dirty).
extern const std::vector<FeatureProbe> kProbes;

// uffd_api_features(): what UFFDIO_API with features=0 reports.
extern const char kUffdApiFeatures[];
// scan_categories(): the PAGEMAP_SCAN categories the kernel accepts (0: none).
extern const char kScanCategories[];
// meminfo(name): a number from /proc/meminfo.
extern const char kMeminfo[];

}  // namespace mmdiff::repro_detail
