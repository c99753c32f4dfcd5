// The kernel profile: which version of the contract the model checks.
//
// Built from what `mmdiff probe` measured (prog/features.h). The model reads
// only this struct, never the probe directly, so tests can state a profile in
// one line. Where kernels legitimately differ, the profile carries what the
// target's behaviour probes measured (prog/behaviour.h), never a release.
#pragma once

#include <cstdint>
#include <string>

#include "model/allowance.h"
#include "model/mutant.h"
#include "prog/behaviour.h"
#include "prog/features.h"

namespace mmdiff {

enum class ThpMode : uint8_t { kNever, kMadvise, kAlways };

struct KernelProfile {
  std::string release;
  uint32_t features = 0;        // Feature bits (prog/op.h), for `requires`
  bool soft_dirty = false;      // CONFIG_MEM_SOFT_DIRTY: pagemap bit 55, clear_refs 4
  bool uffd_wp = false;         // userfaultfd with UFFD_FEATURE_PAGEFAULT_FLAG_WP
  uint32_t uffd_features = 0;   // UffdFeature bits (prog/op.h) that UFFDIO_API accepts
  bool pagemap_scan = false;    // PAGEMAP_SCAN ioctl (6.7+); else ENOTTY
  uint32_t scan_categories = 0; // categories PAGEMAP_SCAN accepts (0xff or 0x1ff)
  bool guard = false;           // MADV_GUARD_INSTALL/REMOVE, pagemap bit 58, PAGE_IS_GUARD
  // Behaviours where kernels legitimately differ (prog/behaviour.h), as the
  // target's probe programs measured them; one unmeasured (the probe needs a
  // feature the kernel lacks) keeps the current kernels' rule.
  uint32_t behaviours = ~0u;
  // Overcommit (mm/util.c __vm_enough_memory()): in mode 0 ("guess") a
  // charge of more pages than totalram_pages() + total_swap_pages is
  // refused with ENOMEM; 0 when the probe could not tell.
  uint64_t commit_limit_pages = 0;
  ThpMode thp = ThpMode::kNever;
  uint64_t hugetlb_free = 0;    // free 2 MiB huge pages
  bool swap = false;
  // khugepaged's max_ptes_none (KernelFeatures): a THP-eligible range with at
  // most this many empty PTEs may be collapsed; 511 (the default) when unknown.
  int khugepaged_max_ptes_none = 511;
  // max_ptes_swap and max_ptes_shared likewise (kernel defaults 64 and 256).
  int khugepaged_max_ptes_swap = 64;
  int khugepaged_max_ptes_shared = 256;
  // khugepaged-may-collapse: a collapse of `slot` of process `proc` right
  // before op `before_op` (none: SIZE_MAX, the contract's choice, except in
  // the walks CheckTrace tries after a divergence; model/khugepaged.cc).
  struct KhugepagedCollapse {
    size_t before_op = SIZE_MAX;
    int proc = 0;
    uint32_t slot = 0;
  } collapse;
  // Pages a read fault of a file-backed VMA may map (mm/memory.c
  // fault_around_pages): 1 when the executor pinned fault_around_bytes to one
  // page; the kernel default of 64 KiB (16) when the probe could not tell.
  uint32_t fault_around_pages = 16;
  // The executor's `file` slots live on tmpfs (no block device in the guest):
  // such a "regular file" is shmem to the kernel (shmem_file_setup's ops,
  // vma_is_shmem() true), so it behaves as a memfd does. Measured: the probe's
  // statfs of the slot directory (KernelFeatures::file_fs).
  bool file_slots_shmem = false;
  // Which THP faults of a walk fall back to 4K pages (bit k: the k-th;
  // thp-may-fall-back): 0, the contract's choice, except in the walks
  // CheckTrace tries after a divergence.
  uint32_t thp_fallbacks = 0;
  Mutant mutant = Mutant::kNone;  // a rule broken on purpose (model/mutant.h): self-tests only
  QuirkSet quirks;              // known kernel bugs the model allows on this kernel

  bool HasUffdFeature(uint32_t f) const { return (uffd_features & f) == f; }
  bool Has(Behaviour b) const { return behaviours & b; }
};

// From a probe. The release string decides only which quirks of
// corpus/QUIRKS.md the kernel is known to have (the release that fixed each).
KernelProfile MakeProfile(const KernelFeatures& features);

// The same kernel without one Feature bit (prog/op.h): what the model
// predicts there (the minimizer keeps a `requires` feature that changes it).
KernelProfile WithoutFeature(KernelProfile profile, uint32_t feature);
// The two kernels of docs/CONTRACT.md §2: the 6.18 host (no soft-dirty, WP_ASYNC,
// PAGEMAP_SCAN with guard, THP madvise, no swap, no huge pages) and the
// Debian 6.1 guest (soft-dirty, sync uffd-wp only, no PAGEMAP_SCAN).
KernelFeatures HostFeatures618();
KernelFeatures GuestFeatures61();
inline KernelProfile HostProfile618() { return MakeProfile(HostFeatures618()); }
inline KernelProfile GuestProfile61() { return MakeProfile(GuestFeatures61()); }

}  // namespace mmdiff
