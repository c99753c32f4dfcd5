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

// Whether a new mapping's VMA shows the soft-dirty flag: `sd` in its
// VmFlags of /proc/self/smaps is printed only with CONFIG_MEM_SOFT_DIRTY
// (fs/proc/task_mmu.c show_smap_vma_flags(): [ilog2(VM_SOFTDIRTY)] = "sd"),
// and a new mapping carries VM_SOFTDIRTY (mm/mmap.c __mmap_region()).
bool NewVmaShowsSoftDirty() {
  void* p = mmap(nullptr, kPageSize, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) return false;
  char head[40];
  snprintf(head, sizeof head, "%lx-", static_cast<unsigned long>(reinterpret_cast<uintptr_t>(p)));
  std::ifstream smaps("/proc/self/smaps");
  std::string line;
  bool in_vma = false, sd = false;
  while (std::getline(smaps, line)) {
    if (line.rfind(head, 0) == 0) in_vma = true;
    else if (in_vma && line.rfind("VmFlags:", 0) == 0) {
      sd = (line + " ").find(" sd ") != std::string::npos;
      break;
    }
  }
  munmap(p, kPageSize);
  return sd;
}

// Whether a written page reads soft-dirty in pagemap: a write fault's
// pte_mkdirty() sets _PAGE_SOFT_DIRTY, which is 0 without
// CONFIG_MEM_SOFT_DIRTY (arch/x86/include/asm/pgtable_types.h), so the
// bit needs the option but not a VMA flag.
bool WrittenPageReadsSoftDirty(int pagemap_fd) {
  void* p = mmap(nullptr, kPageSize, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) return false;
  *static_cast<volatile char*>(p) = 1;
  uint64_t entry = 0;
  off_t at = static_cast<off_t>(reinterpret_cast<uintptr_t>(p) / kPageSize * 8);
  bool sd = pread(pagemap_fd, &entry, 8, at) == 8 && (entry & kPmSoftDirty);
  munmap(p, kPageSize);
  return sd;
}

// Soft-dirty exists when either shows it: a kernel that leaves a new VMA
// without VM_SOFTDIRTY (the bug d9104d1ca966 "mm: track vma changes with
// VM_SOFTDIRTY bit" fixed) still has soft-dirty, broken, and must be judged
// as one that has it, not skipped as one without.
bool SoftDirtyPresent(int pagemap_fd) { return NewVmaShowsSoftDirty() || WrittenPageReadsSoftDirty(pagemap_fd); }

// The self-check: the documented round trip
// (Documentation/admin-guide/mm/soft-dirty.rst): clear_refs 4 clears the
// bit, a write after it sets it again. Empty when it holds, else what broke.
std::string SoftDirtyRoundTrip(int pagemap_fd) {
  void* p = mmap(nullptr, kPageSize, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) return "mmap failed";
  *static_cast<volatile char*>(p) = 1;
  int fd = open("/proc/self/clear_refs", O_WRONLY | O_CLOEXEC);
  bool ok = fd >= 0 && write(fd, "4", 1) == 1;
  if (fd >= 0) close(fd);
  uint64_t entry = 0;
  off_t at = static_cast<off_t>(reinterpret_cast<uintptr_t>(p) / kPageSize * 8);
  std::string why;
  if (!ok) why = "writing 4 to /proc/self/clear_refs failed";
  else if (pread(pagemap_fd, &entry, 8, at) != 8) why = "reading pagemap failed";
  else if (entry & kPmSoftDirty) why = "a written page still reads soft-dirty after clear_refs 4";
  if (why.empty()) {
    *static_cast<volatile char*>(p) = 2;
    if (pread(pagemap_fd, &entry, 8, at) != 8) why = "reading pagemap failed";
    else if (!(entry & kPmSoftDirty)) why = "a page written after clear_refs 4 reads soft-dirty 0";
  }
  munmap(p, kPageSize);
  return why;
}

void ProbeUffd(KernelFeatures* f) {
  int fd = static_cast<int>(syscall(SYS_userfaultfd, O_CLOEXEC | O_NONBLOCK));
  if (fd < 0) return;
  struct uffdio_api api = {};
  api.api = UFFD_API;
  api.features = 0;
  if (ioctl(fd, UFFDIO_API, &api) == 0) {
    f->uffd_api_features = api.features;
    // uffd-wp is there when UFFDIO_API offers UFFD_FEATURE_PAGEFAULT_FLAG_WP
    // (fs/userfaultfd.c userfaultfd_api() masks it out without
    // CONFIG_HAVE_ARCH_USERFAULTFD_WP); the self-check is a WP registration
    // of anonymous memory, which every such kernel accepts.
    if (api.features & UFFD_FEATURE_PAGEFAULT_FLAG_WP) {
      f->features |= kFeatUffdWp;
      bool registered = false;
      void* p = mmap(nullptr, kPageSize, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
      if (p != MAP_FAILED) {
        struct uffdio_register reg = {};
        reg.range.start = reinterpret_cast<uintptr_t>(p);
        reg.range.len = kPageSize;
        reg.mode = UFFDIO_REGISTER_MODE_WP;
        registered = ioctl(fd, UFFDIO_REGISTER, &reg) == 0;
        munmap(p, kPageSize);
      }
      if (!registered) {
        f->broken |= kFeatUffdWp;
        f->broken_why += "uffd_wp self-check: UFFDIO_API offers PAGEFAULT_FLAG_WP but UFFDIO_REGISTER_MODE_WP "
                         "of anonymous memory fails (Documentation/admin-guide/mm/userfaultfd.rst)\n";
      }
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
      // Present unless the ioctl is unknown (ENOTTY: fs/proc/task_mmu.c
      // has no do_pagemap_cmd()); a present one that refuses this valid scan
      // fails its self-check.
      if (!ok && errno == ENOTTY) break;
      f->features |= kFeatPagemapScan;
      if (!ok) {
        f->broken |= kFeatPagemapScan;
        f->broken_why += std::string("pagemap_scan self-check: a valid scan of one page fails: ") +
                         strerror(errno) + " (Documentation/admin-guide/mm/pagemap.rst)\n";
        break;
      }
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
    if (SoftDirtyPresent(pagemap_fd)) {
      f.features |= kFeatSoftDirty;
      std::string why = SoftDirtyRoundTrip(pagemap_fd);
      if (why.empty() && !NewVmaShowsSoftDirty())
        why = "a new mapping's VMA is not soft-dirty (no sd in its smaps VmFlags; mm/mmap.c __mmap_region() "
              "sets VM_SOFTDIRTY)";
      if (!why.empty()) {
        f.broken |= kFeatSoftDirty;
        f.broken_why += "soft_dirty self-check: " + why +
                        " (Documentation/admin-guide/mm/soft-dirty.rst)\n";
      }
    }
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
  auto knob = [](const char* name, int32_t* out) {
    std::string v = ReadFile(std::string("/sys/kernel/mm/transparent_hugepage/khugepaged/") + name);
    if (!v.empty()) *out = atoi(v.c_str());
  };
  knob("max_ptes_none", &f.khugepaged_max_ptes_none);
  knob("max_ptes_swap", &f.khugepaged_max_ptes_swap);
  knob("max_ptes_shared", &f.khugepaged_max_ptes_shared);
  std::string meminfo = ReadFile("/proc/meminfo");
  f.hugetlb_free = MeminfoField(meminfo, "HugePages_Free");
  f.swap_total_kb = MeminfoField(meminfo, "SwapTotal");
  f.mem_total_kb = MeminfoField(meminfo, "MemTotal");
  std::string overcommit = ReadFile("/proc/sys/vm/overcommit_memory");
  if (!overcommit.empty()) f.overcommit_memory = atoi(overcommit.c_str());
  if (f.hugetlb_free > 0) f.features |= kFeatHugetlb;
  if (f.swap_total_kb > 0) f.features |= kFeatSwap;
  f.file_fs = FileSlotFilesystem();
  return f;
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

bool WriteFile(const std::string& path, const std::string& value) {
  int fd = open(path.c_str(), O_WRONLY | O_CLOEXEC);
  if (fd < 0) return false;
  bool ok = write(fd, value.data(), value.size()) == static_cast<ssize_t>(value.size());
  close(fd);
  return ok;
}

}  // namespace mmdiff::exec
