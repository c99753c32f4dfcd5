// What `mmdiff probe` measured on a kernel: the target's side of `requires`
// and the model's kernel profile.
#pragma once

#include <cstdint>
#include <string>

#include "prog/binary.h"

namespace mmdiff {

struct KernelFeatures {
  std::string release;          // uname -r
  uint32_t features = 0;        // Feature bits (op.h)
  uint64_t uffd_api_features = 0;  // UFFDIO_API's answer to features=0 (every supported bit)
  uint32_t scan_categories = 0; // PAGEMAP_SCAN categories the kernel accepts in return_mask
  std::string thp_mode;         // /sys/kernel/mm/transparent_hugepage/enabled: always|madvise|never|absent
  uint64_t hugetlb_free = 0;    // HugePages_Free (2 MiB pages)
  uint64_t swap_total_kb = 0;   // SwapTotal
  // /sys/kernel/debug/fault_around_bytes as the executor found it, or after
  // it pinned it to one page (a guest; --pin-fault-around); 0: unknown
  // (debugfs not mounted or not readable), the kernel's default assumed.
  uint64_t fault_around_bytes = 0;
  std::string file_fs;          // filesystem of the executor's `file` slots: ext4, tmpfs, ...
  // Feature bits (op.h) present by their structural signal whose round-trip
  // self-check failed: the kernel has the feature and it does not work. Their
  // programs run (and diverge); `mmdiff probe` says so plainly.
  uint32_t broken = 0;
  std::string broken_why;       // one line per broken feature
  uint64_t mem_total_kb = 0;    // MemTotal: totalram_pages(), the overcommit heuristic's bound
  int32_t overcommit_memory = -1;  // /proc/sys/vm/overcommit_memory (0 guess, 1 always, 2 never)
  // Behaviour bits (prog/behaviour.h) measured by the target after the probe:
  // `behaviours_measured` says which ones were answered at all.
  uint32_t behaviours = 0;
  uint32_t behaviours_measured = 0;
  // /sys/kernel/mm/transparent_hugepage/khugepaged/max_ptes_none: how many
  // empty PTEs khugepaged accepts in a range it collapses; -1: unknown.
  int32_t khugepaged_max_ptes_none = -1;
  // .../khugepaged/max_ptes_swap and max_ptes_shared: how many swapped and
  // how many shared pages it accepts; -1: unknown.
  int32_t khugepaged_max_ptes_swap = -1;
  int32_t khugepaged_max_ptes_shared = -1;
  bool operator==(const KernelFeatures&) const = default;
};

void EncodeFeatures(const KernelFeatures& f, ByteWriter* w);
bool DecodeFeatures(ByteReader* r, KernelFeatures* out);
// Multi-line "name: value" listing for `mmdiff probe` and reports.
std::string PrintFeatures(const KernelFeatures& f);

}  // namespace mmdiff
