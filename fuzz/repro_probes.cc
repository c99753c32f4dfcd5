// The requirement probes of a reproducer, as C text (fuzz/repro_probes.h).
#include "fuzz/repro_probes.h"

namespace mmdiff::repro_detail {

const std::vector<FeatureProbe> kProbes = {
    {kFeatSoftDirty, "have_soft_dirty", R"C(/* A page written after clear_refs 4 reads soft-dirty (bit 55), and not before. */
static int have_soft_dirty(void)
{
  volatile char *p = mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  int pm = open("/proc/self/pagemap", O_RDONLY), cr = open("/proc/self/clear_refs", O_WRONLY);
  uint64_t e = 0, off = (uint64_t)(uintptr_t)p / PAGE * 8;
  int ok = p != MAP_FAILED && pm >= 0 && cr >= 0;
  if (ok) {
    *p = 1;
    ok = write(cr, "4", 1) == 1 && pread(pm, &e, 8, off) == 8 && !(e >> 55 & 1);
    *p = 2;
    ok = ok && pread(pm, &e, 8, off) == 8 && (e >> 55 & 1);
  }
  if (p != MAP_FAILED)
    munmap((void *)p, PAGE);
  close(pm);
  close(cr);
  return ok;
}
)C", {}},
    {kFeatUffdWp, "have_uffd_wp", R"C(static int have_uffd_wp(void)
{
  int fd = syscall(SYS_userfaultfd, O_CLOEXEC | O_NONBLOCK), ok = 0;
  struct uffdio_api api = {UFFD_API, 0, 0};
  void *p = mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (fd >= 0 && p != MAP_FAILED && ioctl(fd, UFFDIO_API, &api) == 0) {
    struct uffdio_register reg = {{(uint64_t)(uintptr_t)p, PAGE}, UFFDIO_REGISTER_MODE_WP, 0};
    ok = ioctl(fd, UFFDIO_REGISTER, &reg) == 0;
  }
  if (p != MAP_FAILED)
    munmap(p, PAGE);
  if (fd >= 0)
    close(fd);
  return ok;
}
)C", {"SYS_userfaultfd", "UFFD_API", "UFFDIO_API", "UFFDIO_REGISTER", "UFFDIO_REGISTER_MODE_WP"}},
    {kFeatWpAsync, "have_wp_async", R"C(static int have_wp_async(void) { return (uffd_api_features() & UFFD_FEATURE_WP_ASYNC) != 0; }
)C", {"UFFD_FEATURE_WP_ASYNC"}},
    {kFeatWpUnpopulated, "have_wp_unpopulated",
     R"C(static int have_wp_unpopulated(void) { return (uffd_api_features() & UFFD_FEATURE_WP_UNPOPULATED) != 0; }
)C", {"UFFD_FEATURE_WP_UNPOPULATED"}},
    {kFeatPagemapScan, "have_pagemap_scan", R"C(static int have_pagemap_scan(void) { return scan_categories() != 0; }
)C", {}},
    {kFeatScanSoftDirty, "have_scan_soft_dirty",
     R"C(static int have_scan_soft_dirty(void) { return have_soft_dirty() && (scan_categories() & PAGE_IS_SOFT_DIRTY); }
)C", {"PAGE_IS_SOFT_DIRTY"}},
    {kFeatThp, "have_thp", R"C(static int have_thp(void)
{
  char buf[128] = {0};
  int fd = open("/sys/kernel/mm/transparent_hugepage/enabled", O_RDONLY);
  if (fd < 0)
    return 0;
  if (read(fd, buf, sizeof buf - 1) < 0) {
  }
  close(fd);
  return strstr(buf, "[always]") || strstr(buf, "[madvise]");
}
)C", {}},
    {kFeatHugetlb, "have_hugetlb", R"C(static int have_hugetlb(void) { return meminfo("HugePages_Free:") > 0; }
)C", {}},
    {kFeatSwap, "have_swap", R"C(static int have_swap(void) { return meminfo("SwapTotal:") > 0; }
)C", {}},
    {kFeatGuard, "have_guard", R"C(static int have_guard(void)
{
  void *p = mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  int ok = p != MAP_FAILED && madvise(p, PAGE, MADV_GUARD_INSTALL) == 0;
  if (p != MAP_FAILED)
    munmap(p, PAGE);
  return ok;
}
)C", {"MADV_GUARD_INSTALL"}},
};

const char kUffdApiFeatures[] = R"C(/* What UFFDIO_API with features=0 reports: every feature the kernel has. */
static uint64_t uffd_api_features(void)
{
  int fd = syscall(SYS_userfaultfd, O_CLOEXEC | O_NONBLOCK);
  struct uffdio_api api = {UFFD_API, 0, 0};
  uint64_t f = fd >= 0 && ioctl(fd, UFFDIO_API, &api) == 0 ? api.features : 0;
  if (fd >= 0)
    close(fd);
  return f;
}
)C";

const char kScanCategories[] = R"C(/* The PAGEMAP_SCAN categories this kernel accepts in return_mask (0: no
   PAGEMAP_SCAN); a scan without ret= asks for all of them, as the executor does. */
static uint64_t scan_categories(void)
{
  void *p = mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  int pm = open("/proc/self/pagemap", O_RDONLY);
  uint64_t cats = 0;
  struct page_region region;
  for (int bit = -1; bit < 16 && p != MAP_FAILED && pm >= 0; bit++) {
    struct pm_scan_arg arg = {.size = sizeof arg, .start = (uint64_t)(uintptr_t)p,
                              .end = (uint64_t)(uintptr_t)p + PAGE, .vec = (uint64_t)(uintptr_t)&region,
                              .vec_len = 1, .return_mask = bit < 0 ? PAGE_IS_PRESENT : 1ull << bit};
    int ok = ioctl(pm, PAGEMAP_SCAN, &arg) >= 0;
    if (bit < 0 && !ok)
      break;
    if (bit >= 0 && ok)
      cats |= 1ull << bit;
  }
  if (p != MAP_FAILED)
    munmap(p, PAGE);
  if (pm >= 0)
    close(pm);
  return cats;
}
)C";

const char kMeminfo[] = R"C(static long meminfo(const char *name)
{
  static char buf[16384];
  int fd = open("/proc/meminfo", O_RDONLY);
  ssize_t n = fd < 0 ? -1 : read(fd, buf, sizeof buf - 1);
  if (fd >= 0)
    close(fd);
  if (n <= 0)
    return 0;
  buf[n] = 0;
  char *s = strstr(buf, name);
  return s ? strtol(s + strlen(name), NULL, 10) : 0;
}
)C";

}  // namespace mmdiff::repro_detail
