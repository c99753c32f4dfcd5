#include "executor/probe.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/vfs.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <string>

#include "executor/exec_dir.h"
#include "executor/uapi.h"
#include "prog/op.h"
#include "prog/result.h"

namespace mmdiff::exec {
namespace {

// Soft-dirty is measured, not read from a config: a page written after
// clear_refs 4 must read bit 55 (Documentation/admin-guide/mm/soft-dirty.rst).
// Without CONFIG_MEM_SOFT_DIRTY the write to clear_refs succeeds and the bit
// stays 0 (fs/proc/task_mmu.c clear_soft_dirty is a stub).
bool MeasureSoftDirty(int pagemap_fd) {
  void* p = mmap(nullptr, kPageSize, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) return false;
  *static_cast<volatile char*>(p) = 1;
  int fd = open("/proc/self/clear_refs", O_WRONLY | O_CLOEXEC);
  bool ok = fd >= 0 && write(fd, "4", 1) == 1;
  if (fd >= 0) close(fd);
  uint64_t entry = 0;
  bool cleared = false;
  if (ok && pread(pagemap_fd, &entry, 8, reinterpret_cast<uintptr_t>(p) / kPageSize * 8) == 8)
    cleared = !(entry & kPmSoftDirty);
  *static_cast<volatile char*>(p) = 2;
  bool dirty = ok && pread(pagemap_fd, &entry, 8, reinterpret_cast<uintptr_t>(p) / kPageSize * 8) == 8 &&
               (entry & kPmSoftDirty);
  munmap(p, kPageSize);
  return cleared && dirty;
}

void ProbeUffd(KernelFeatures* f) {
  int fd = static_cast<int>(syscall(SYS_userfaultfd, O_CLOEXEC | O_NONBLOCK));
  if (fd < 0) return;
  struct uffdio_api api = {};
  api.api = UFFD_API;
  api.features = 0;
  if (ioctl(fd, UFFDIO_API, &api) == 0) {
    f->uffd_api_features = api.features;
    // uffd-wp is there when a WP registration of anonymous memory succeeds.
    void* p = mmap(nullptr, kPageSize, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p != MAP_FAILED) {
      struct uffdio_register reg = {};
      reg.range.start = reinterpret_cast<uintptr_t>(p);
      reg.range.len = kPageSize;
      reg.mode = UFFDIO_REGISTER_MODE_WP;
      if (ioctl(fd, UFFDIO_REGISTER, &reg) == 0) f->features |= kFeatUffdWp;
      munmap(p, kPageSize);
    }
    if (api.features & UFFD_FEATURE_WP_ASYNC) f->features |= kFeatWpAsync;
    if (api.features & UFFD_FEATURE_WP_UNPOPULATED) f->features |= kFeatWpUnpopulated;
  }
  close(fd);
}

// PAGEMAP_SCAN exists when a valid empty scan succeeds (6.1 answers ENOTTY);
// a category is known when a return_mask of it alone is accepted.
void ProbeScan(int pagemap_fd, KernelFeatures* f) {
  void* p = mmap(nullptr, kPageSize, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) return;
  page_region region;
  for (int bit = -1; bit < 16; bit++) {
    struct pm_scan_arg arg = {};
    arg.size = sizeof arg;
    arg.start = reinterpret_cast<uintptr_t>(p);
    arg.end = arg.start + kPageSize;
    arg.vec = reinterpret_cast<uintptr_t>(&region);
    arg.vec_len = 1;
    arg.return_mask = bit < 0 ? PAGE_IS_PRESENT : 1u << bit;
    bool ok = ioctl(pagemap_fd, PAGEMAP_SCAN, &arg) >= 0;
    if (bit < 0) {
      if (!ok) break;
      f->features |= kFeatPagemapScan;
    } else if (ok) {
      f->scan_categories |= 1u << bit;
    }
  }
  munmap(p, kPageSize);
}

bool ProbeGuard() {
  void* p = mmap(nullptr, kPageSize, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) return false;
  bool ok = madvise(p, kPageSize, MADV_GUARD_INSTALL) == 0;
  munmap(p, kPageSize);
  return ok;
}

std::string ReadFile(const char* path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

uint64_t MeminfoField(const std::string& meminfo, const char* name) {
  size_t pos = meminfo.find(std::string(name) + ":");
  if (pos == std::string::npos) return 0;
  return strtoull(meminfo.c_str() + pos + strlen(name) + 1, nullptr, 10);
}

}  // namespace

std::string FileSlotFilesystem() {
  const char* dir = getenv("TMPDIR");
  struct statfs fs;
  if (statfs(dir && *dir ? dir : "/tmp", &fs) != 0) return "unknown";
  switch (static_cast<unsigned long>(fs.f_type)) {
    case 0xEF53: return "ext4";
    case 0x01021994: return "tmpfs";
    case 0x9123683E: return "btrfs";
    case 0x58465342: return "xfs";
    default: return "other";
  }
}

namespace {
constexpr char kFaultAroundKnob[] = "/sys/kernel/debug/fault_around_bytes";
}  // namespace

uint64_t ReadFaultAround() { return strtoull(ReadKnob(kFaultAroundKnob).c_str(), nullptr, 10); }

uint64_t PinFaultAround(const std::string& dir, bool may_mount, std::string* err) {
  if (access(kFaultAroundKnob, F_OK) != 0) {
    if (!may_mount) {
      *err = std::string(kFaultAroundKnob) + " is absent (debugfs not mounted?)";
      return 0;
    }
    mount("debugfs", "/sys/kernel/debug", "debugfs", 0, nullptr);
  }
  PinKnob(kFaultAroundKnob, "4096", dir, err);
  return ReadFaultAround();
}

KernelFeatures ProbeKernel() {
  KernelFeatures f;
  struct utsname u;
  if (uname(&u) == 0) f.release = u.release;
  int pagemap_fd = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
  if (pagemap_fd >= 0) {
    if (MeasureSoftDirty(pagemap_fd)) f.features |= kFeatSoftDirty;
    ProbeScan(pagemap_fd, &f);
    close(pagemap_fd);
  }
  if ((f.features & kFeatSoftDirty) && (f.scan_categories & PAGE_IS_SOFT_DIRTY))
    f.features |= kFeatScanSoftDirty;
  ProbeUffd(&f);
  if (ProbeGuard()) f.features |= kFeatGuard;

  std::string thp = ReadFile("/sys/kernel/mm/transparent_hugepage/enabled");
  size_t open_br = thp.find('['), close_br = thp.find(']');
  f.thp_mode = open_br != std::string::npos && close_br > open_br
                   ? thp.substr(open_br + 1, close_br - open_br - 1)
                   : "absent";
  if (f.thp_mode == "always" || f.thp_mode == "madvise") f.features |= kFeatThp;
  std::string meminfo = ReadFile("/proc/meminfo");
  f.hugetlb_free = MeminfoField(meminfo, "HugePages_Free");
  f.swap_total_kb = MeminfoField(meminfo, "SwapTotal");
  if (f.hugetlb_free > 0) f.features |= kFeatHugetlb;
  if (f.swap_total_kb > 0) f.features |= kFeatSwap;
  f.file_fs = FileSlotFilesystem();
  return f;
}

}  // namespace mmdiff::exec
