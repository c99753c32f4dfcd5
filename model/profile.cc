#include "model/profile.h"

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
  int major = 0, minor = 0;
  if (ParseRelease(f.release, &major, &minor))
    p.legacy_61 = major < 6 || (major == 6 && minor < 7);
  else
    p.legacy_61 = !p.pagemap_scan;
  if (f.thp_mode == "always") p.thp = ThpMode::kAlways;
  else if (f.thp_mode == "madvise") p.thp = ThpMode::kMadvise;
  else p.thp = ThpMode::kNever;
  p.hugetlb_free = f.hugetlb_free;
  p.swap = f.swap_total_kb > 0;
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
  return f;
}

KernelFeatures GuestFeatures61() {
  KernelFeatures f;
  f.release = "6.1.192";
  f.features = kFeatSoftDirty | kFeatUffdWp | kFeatThp;
  f.uffd_api_features = 0x1fff;  // bits 0..12 (SEMANTICS.md §4.1)
  f.scan_categories = 0;
  f.thp_mode = "madvise";
  return f;
}

}  // namespace mmdiff
