#include "model/profile.h"

#include <algorithm>
#include <cstdio>

#include "prog/op.h"

namespace mmdiff {
namespace {

// UFFD_FEATURE_* bits of include/uapi/linux/userfaultfd.h for our UffdFeature
// words, in UffdFeature bit order.
constexpr uint64_t kUapiUffdFeature[] = {
    1u << 15,  // wp_async
    1u << 13,  // wp_unpopulated
    1u << 12,  // wp_hugetlbfs_shmem
    1u << 1,   // event_fork
    1u << 2,   // event_remap
    1u << 3,   // event_remove
    1u << 6,   // event_unmap
};
static_assert(std::size(kUapiUffdFeature) == kNumUffdFeatures);
constexpr uint64_t kUapiPagefaultFlagWp = 1u << 0;

// "6.18.44-fc" → (6, 18); false when unparsable.
bool ParseRelease(const std::string& release, int* major, int* minor) {
  return sscanf(release.c_str(), "%d.%d", major, minor) == 2;
}

}  // namespace

KernelProfile WithoutFeature(KernelProfile p, uint32_t feature) {
  p.features &= ~feature;
  switch (feature) {
    case kFeatSoftDirty:
      p.soft_dirty = false;
      p.features &= ~kFeatScanSoftDirty;
      break;
    case kFeatUffdWp:
      p.uffd_wp = false;
      p.uffd_features &= ~(kUffdWpHugetlbfsShmem | kUffdWpAsync | kUffdWpUnpopulated);
      p.features &= ~(kFeatWpAsync | kFeatWpUnpopulated);
      break;
    case kFeatWpAsync: p.uffd_features &= ~kUffdWpAsync; break;
    case kFeatWpUnpopulated: p.uffd_features &= ~kUffdWpUnpopulated; break;
    case kFeatPagemapScan:
      p.pagemap_scan = false;
      p.scan_categories = 0;
      p.features &= ~kFeatScanSoftDirty;
      break;
    case kFeatScanSoftDirty: p.scan_categories &= ~kCatSoftDirty; break;
    case kFeatThp: p.thp = ThpMode::kNever; break;
    case kFeatHugetlb: p.hugetlb_free = 0; break;
    case kFeatSwap: p.swap = false; break;
    case kFeatGuard: p.guard = false; break;
    default: break;
  }
  return p;
}

KernelProfile MakeProfile(const KernelFeatures& f) {
  KernelProfile p;
  p.release = f.release;
  p.features = f.features;
  p.soft_dirty = f.features & kFeatSoftDirty;
  p.uffd_wp = f.features & kFeatUffdWp;
  if (f.uffd_api_features != 0) {
    p.uffd_wp = p.uffd_wp || (f.uffd_api_features & kUapiPagefaultFlagWp);
    for (int bit = 0; bit < kNumUffdFeatures; bit++)
      if (f.uffd_api_features & kUapiUffdFeature[bit]) p.uffd_features |= 1u << bit;
  } else {
    // No UFFDIO_API answer recorded: derive from the feature words.
    if (p.uffd_wp) p.uffd_features |= kUffdWpHugetlbfsShmem | kUffdEventFork | kUffdEventRemap |
                                      kUffdEventRemove | kUffdEventUnmap;
    if (f.features & kFeatWpAsync) p.uffd_features |= kUffdWpAsync;
    if (f.features & kFeatWpUnpopulated) p.uffd_features |= kUffdWpUnpopulated;
  }
  p.pagemap_scan = f.features & kFeatPagemapScan;
  p.scan_categories = p.pagemap_scan ? (f.scan_categories ? f.scan_categories : 0xffu) : 0;
  p.guard = f.features & kFeatGuard;
  // Measured behaviours; the unmeasured keep the current kernels' rule.
  p.behaviours = (f.behaviours & f.behaviours_measured) | ~f.behaviours_measured;
  if (f.overcommit_memory == 0 && f.mem_total_kb > 0) p.commit_limit_pages = (f.mem_total_kb + f.swap_total_kb) / 4;
  // Release numbers decide only which known quirks (corpus/QUIRKS.md) a
  // kernel has: the release that fixed each.
  int major = 0, minor = 0;
  bool parsed = ParseRelease(f.release, &major, &minor);
  if (f.thp_mode == "always") p.thp = ThpMode::kAlways;
  else if (f.thp_mode == "madvise") p.thp = ThpMode::kMadvise;
  else p.thp = ThpMode::kNever;
  p.hugetlb_free = f.hugetlb_free;
  p.file_slots_shmem = f.file_fs == "tmpfs";
  p.swap = f.swap_total_kb > 0;
  if (f.khugepaged_max_ptes_none >= 0) p.khugepaged_max_ptes_none = std::min(f.khugepaged_max_ptes_none, 511);
  if (f.khugepaged_max_ptes_swap >= 0) p.khugepaged_max_ptes_swap = std::min(f.khugepaged_max_ptes_swap, 511);
  if (f.khugepaged_max_ptes_shared >= 0) p.khugepaged_max_ptes_shared = std::min(f.khugepaged_max_ptes_shared, 511);
  // fault_around_bytes: 0 = unknown (the kernel default, 64 KiB), else what
  // the executor pinned it to (mm/memory.c fault_around_bytes_set()).
  uint64_t fab = f.fault_around_bytes ? f.fault_around_bytes : 65536;
  uint64_t pages = std::min<uint64_t>(fab / 4096, 512);
  p.fault_around_pages = 1;
  while (p.fault_around_pages * 2 <= pages) p.fault_around_pages *= 2;  // rounddown_pow_of_two

  // Known quirks (corpus/QUIRKS.md), by the release that fixed them.
  // Soft-dirty lost on merge: fixed by "mm: propagate VM_SOFTDIRTY on merge"
  // (posted 2025-11, for 6.19); only visible with CONFIG_MEM_SOFT_DIRTY.
  bool before_619 = !parsed || major < 6 || (major == 6 && minor < 19);
  if (p.soft_dirty && before_619) {
    p.quirks.Set(Quirk::kSoftdirtyLostOnMerge);
  }
  // No fix known: every kernel with the feature.
  if (p.uffd_wp) p.quirks.Set(Quirk::kShmemDropPageKeepsUffdWpMarker);
  if (p.thp != ThpMode::kNever) p.quirks.Set(Quirk::kHugeZeroPagePagemapFile);
  if (p.pagemap_scan) p.quirks.Set(Quirk::kScanStaleWalkEnd);
  if (p.uffd_wp) p.quirks.Set(Quirk::kMremapMergeDropsUffdRegistration);
  if (p.uffd_wp && p.guard) p.quirks.Set(Quirk::kGuardInstallLivelockOnUffdWp);
  // Unregistering through another uffd: fixed in 2025 (6.16); 6.1.192 lacks it.
  bool before_616 = !parsed || major < 6 || (major == 6 && minor < 16);
  if (p.uffd_wp && before_616) p.quirks.Set(Quirk::kUffdUnregisterOtherCtx);
  // uffd_wp_range() ignoring write-notify: fixed in 6.3 (931298e103c2, not
  // sent to stable); only visible with CONFIG_MEM_SOFT_DIRTY.
  bool before_63 = !parsed || major < 6 || (major == 6 && minor < 3);
  if (p.soft_dirty && p.uffd_wp && before_63) p.quirks.Set(Quirk::kSoftdirtyLostOnUffdWpResolve);
  // No fix known: every kernel with soft-dirty ([EMP] 6.1.192, 6.12.118).
  if (p.soft_dirty) p.quirks.Set(Quirk::kSoftdirtyLostOnMremapPmdMove);
  if (p.soft_dirty && p.uffd_wp) p.quirks.Set(Quirk::kSoftdirtyLostOnForkMarker);
  // hugetlb fork keeping uffd-wp: present in 6.1.192, fixed in 6.12.118
  // (the fixing release in between is not pinned down: kernels before 6.12).
  bool before_612 = !parsed || major < 6 || (major == 6 && minor < 12);
  if (p.uffd_wp && before_612) p.quirks.Set(Quirk::kHugetlbForkKeepsUffdWp);
  return p;
}

KernelFeatures HostFeatures618() {
  KernelFeatures f;
  f.release = "6.18.44";
  f.features = kFeatUffdWp | kFeatWpAsync | kFeatWpUnpopulated | kFeatPagemapScan | kFeatThp |
               kFeatGuard;
  f.uffd_api_features = 0x1ffff;
  f.scan_categories = 0x1ff;
  f.thp_mode = "madvise";
  f.fault_around_bytes = 0;  // debugfs is not writable on the host: unknown
  f.behaviours = ~0u & ~kBehDontunmapSourcePgoffReset;  // as the 6.18.44 probe measured them
  f.behaviours_measured = ~0u;
  return f;
}

KernelFeatures GuestFeatures61() {
  KernelFeatures f;
  f.release = "6.1.192";
  f.features = kFeatSoftDirty | kFeatUffdWp | kFeatThp;
  f.uffd_api_features = 0x1fff;  // bits 0..12 (docs/CONTRACT.md §5.1)
  f.scan_categories = 0;
  f.thp_mode = "madvise";
  f.fault_around_bytes = 4096;  // pinned by the executor
  // As Debian 6.1.192's probe measured them: the older rule of each but
  // mremap's grow in place, which merges with the next VMA there too.
  f.behaviours = kBehMremapGrowMergesNext | kBehDontunmapSourcePgoffReset;
  f.behaviours_measured = ~0u;
  return f;
}

}  // namespace mmdiff
