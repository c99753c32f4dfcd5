// The C spellings of the uapi a reproducer uses (fuzz/repro_uapi.h), and the
// system calls of an op as C (SyscallText, fuzz/repro.h).
#include "fuzz/repro_uapi.h"

#include <algorithm>
#include <cinttypes>
#include <iterator>
#include <regex>
#include <vector>

#include "fuzz/repro.h"
#include "fuzz/repro_fmt.h"
#include "prog/op_table.h"
#include "prog/text.h"

namespace mmdiff {
namespace repro_detail {
namespace {

std::string Hex(uint64_t v) { return Fmt("0x%" PRIx64, v); }

// The uapi constants: name, value, where the value comes from. Emitted as
// #ifndef/#define, only the ones a reproducer uses.
struct Uapi {
  const char* name;
  const char* value;
  const char* from;
};
constexpr Uapi kUapi[] = {
    {"MAP_NORESERVE", "0x4000", "asm-generic/mman.h"},
    {"MAP_POPULATE", "0x8000", "asm-generic/mman-common.h"},
    {"MAP_HUGETLB", "0x40000", "asm-generic/mman-common.h"},
    {"MAP_FIXED_NOREPLACE", "0x100000", "asm-generic/mman-common.h"},
    {"MREMAP_MAYMOVE", "1", "linux/mman.h"},
    {"MREMAP_FIXED", "2", "linux/mman.h"},
    {"MREMAP_DONTUNMAP", "4", "linux/mman.h"},
    {"MADV_WILLNEED", "3", "asm-generic/mman-common.h"},
    {"MADV_DONTNEED", "4", "asm-generic/mman-common.h"},
    {"MADV_FREE", "8", "asm-generic/mman-common.h"},
    {"MADV_REMOVE", "9", "asm-generic/mman-common.h"},
    {"MADV_DONTFORK", "10", "asm-generic/mman-common.h"},
    {"MADV_DOFORK", "11", "asm-generic/mman-common.h"},
    {"MADV_HUGEPAGE", "14", "asm-generic/mman-common.h"},
    {"MADV_NOHUGEPAGE", "15", "asm-generic/mman-common.h"},
    {"MADV_WIPEONFORK", "18", "asm-generic/mman-common.h"},
    {"MADV_KEEPONFORK", "19", "asm-generic/mman-common.h"},
    {"MADV_COLD", "20", "asm-generic/mman-common.h"},
    {"MADV_PAGEOUT", "21", "asm-generic/mman-common.h"},
    {"MADV_POPULATE_READ", "22", "asm-generic/mman-common.h"},
    {"MADV_POPULATE_WRITE", "23", "asm-generic/mman-common.h"},
    {"MADV_GUARD_INSTALL", "102", "asm-generic/mman-common.h"},
    {"MADV_GUARD_REMOVE", "103", "asm-generic/mman-common.h"},
    {"FALLOC_FL_KEEP_SIZE", "0x01", "linux/falloc.h"},
    {"FALLOC_FL_PUNCH_HOLE", "0x02", "linux/falloc.h"},
    {"SYS_mount", "165", "x86_64 syscall table"},
    {"SYS_umount2", "166", "x86_64 syscall table"},
    {"MNT_DETACH", "2", "linux/mount.h"},
    {"SYS_userfaultfd", "323", "x86_64 syscall table"},
    {"SYS_pidfd_open", "434", "x86_64 syscall table"},
    {"SYS_pidfd_getfd", "438", "x86_64 syscall table"},
    {"FUTEX_WAIT", "0", "linux/futex.h"},
    {"FUTEX_WAKE", "1", "linux/futex.h"},
    {"PR_SET_CHILD_SUBREAPER", "36", "linux/prctl.h"},
    {"UFFD_API", "0xAA", "linux/userfaultfd.h"},
    {"UFFDIO_API", "0xc018aa3f", "_IOWR(0xAA, 0x3F, struct uffdio_api)"},
    {"UFFDIO_REGISTER", "0xc020aa00", "_IOWR(0xAA, 0x00, struct uffdio_register)"},
    {"UFFDIO_UNREGISTER", "0x8010aa01", "_IOR(0xAA, 0x01, struct uffdio_range)"},
    {"UFFDIO_WAKE", "0x8010aa02", "_IOR(0xAA, 0x02, struct uffdio_range)"},
    {"UFFDIO_COPY", "0xc028aa03", "_IOWR(0xAA, 0x03, struct uffdio_copy)"},
    {"UFFDIO_ZEROPAGE", "0xc020aa04", "_IOWR(0xAA, 0x04, struct uffdio_zeropage)"},
    {"UFFDIO_WRITEPROTECT", "0xc018aa06", "_IOWR(0xAA, 0x06, struct uffdio_writeprotect)"},
    {"UFFDIO_CONTINUE", "0xc020aa07", "_IOWR(0xAA, 0x07, struct uffdio_continue)"},
    {"UFFD_FEATURE_PAGEFAULT_FLAG_WP", "(1 << 0)", "linux/userfaultfd.h"},
    {"UFFD_FEATURE_EVENT_FORK", "(1 << 1)", "linux/userfaultfd.h"},
    {"UFFD_FEATURE_EVENT_REMAP", "(1 << 2)", "linux/userfaultfd.h"},
    {"UFFD_FEATURE_EVENT_REMOVE", "(1 << 3)", "linux/userfaultfd.h"},
    {"UFFD_FEATURE_EVENT_UNMAP", "(1 << 6)", "linux/userfaultfd.h"},
    {"UFFD_FEATURE_WP_HUGETLBFS_SHMEM", "(1 << 12)", "linux/userfaultfd.h"},
    {"UFFD_FEATURE_WP_UNPOPULATED", "(1 << 13)", "linux/userfaultfd.h"},
    {"UFFD_FEATURE_WP_ASYNC", "(1 << 15)", "linux/userfaultfd.h"},
    {"UFFDIO_REGISTER_MODE_MISSING", "(1 << 0)", "linux/userfaultfd.h"},
    {"UFFDIO_REGISTER_MODE_WP", "(1 << 1)", "linux/userfaultfd.h"},
    {"UFFDIO_REGISTER_MODE_MINOR", "(1 << 2)", "linux/userfaultfd.h"},
    {"UFFDIO_WRITEPROTECT_MODE_WP", "(1 << 0)", "linux/userfaultfd.h"},
    {"UFFDIO_WRITEPROTECT_MODE_DONTWAKE", "(1 << 1)", "linux/userfaultfd.h"},
    {"UFFD_EVENT_PAGEFAULT", "0x12", "linux/userfaultfd.h"},
    {"UFFD_EVENT_FORK", "0x13", "linux/userfaultfd.h"},
    {"UFFD_PAGEFAULT_FLAG_WP", "(1 << 1)", "linux/userfaultfd.h"},
    {"UFFD_PAGEFAULT_FLAG_MINOR", "(1 << 2)", "linux/userfaultfd.h"},
    {"PAGEMAP_SCAN", "0xc0606610", "_IOWR('f', 16, struct pm_scan_arg)"},
    {"PM_SCAN_WP_MATCHING", "(1 << 0)", "linux/fs.h"},
    {"PM_SCAN_CHECK_WPASYNC", "(1 << 1)", "linux/fs.h"},
    {"PAGE_IS_WPALLOWED", "(1 << 0)", "linux/fs.h"},
    {"PAGE_IS_WRITTEN", "(1 << 1)", "linux/fs.h"},
    {"PAGE_IS_FILE", "(1 << 2)", "linux/fs.h"},
    {"PAGE_IS_PRESENT", "(1 << 3)", "linux/fs.h"},
    {"PAGE_IS_SWAPPED", "(1 << 4)", "linux/fs.h"},
    {"PAGE_IS_PFNZERO", "(1 << 5)", "linux/fs.h"},
    {"PAGE_IS_HUGE", "(1 << 6)", "linux/fs.h"},
    {"PAGE_IS_SOFT_DIRTY", "(1 << 7)", "linux/fs.h"},
    {"PAGE_IS_GUARD", "(1 << 8)", "linux/fs.h"},
};

constexpr const char* kProtC[] = {"PROT_NONE", "PROT_READ", "PROT_READ | PROT_WRITE", "PROT_READ | PROT_EXEC",
                                  "PROT_READ | PROT_WRITE | PROT_EXEC"};

// In UffdFeature bit order (prog/op.h).
constexpr const char* kUffdFeatureC[] = {
    "UFFD_FEATURE_WP_ASYNC",      "UFFD_FEATURE_WP_UNPOPULATED", "UFFD_FEATURE_WP_HUGETLBFS_SHMEM",
    "UFFD_FEATURE_EVENT_FORK",    "UFFD_FEATURE_EVENT_REMAP",    "UFFD_FEATURE_EVENT_REMOVE",
    "UFFD_FEATURE_EVENT_UNMAP",
};
static_assert(std::size(kUffdFeatureC) == kNumUffdFeatures);
constexpr const char* kUffdModeC[] = {"UFFDIO_REGISTER_MODE_MISSING", "UFFDIO_REGISTER_MODE_WP",
                                      "UFFDIO_REGISTER_MODE_MINOR"};
constexpr const char* kCategoryC[] = {"PAGE_IS_WPALLOWED", "PAGE_IS_WRITTEN", "PAGE_IS_FILE",
                                      "PAGE_IS_PRESENT",   "PAGE_IS_SWAPPED", "PAGE_IS_PFNZERO",
                                      "PAGE_IS_HUGE",      "PAGE_IS_SOFT_DIRTY", "PAGE_IS_GUARD"};
static_assert(std::size(kCategoryC) == kNumScanCategories);

// Names of the set bits of `mask` joined by `sep`; `uses` collects them.
std::string Bits(uint32_t mask, const char* const* names, size_t n, const char* sep, std::set<std::string>* uses,
                 const char* none = "0") {
  std::string out;
  for (size_t b = 0; b < 32; b++) {
    if (!(mask & (1u << b))) continue;
    std::string name = b < n ? names[b] : Hex(1u << b);
    if (b < n && uses) uses->insert(name);
    if (!out.empty()) out += sep;
    out += name;
  }
  return out.empty() ? none : out;
}

std::string ProtText(Prot p) {
  std::string s = kProtC[static_cast<int>(p)];
  return std::regex_replace(s, std::regex(" \\| "), "|");
}

}  // namespace

const char* ProtC(Prot p) { return kProtC[static_cast<int>(p)]; }

const char* AdviceC(Advice a) {
  switch (a) {
    case Advice::kDontneed: return "MADV_DONTNEED";
    case Advice::kFree: return "MADV_FREE";
    case Advice::kRemove: return "MADV_REMOVE";
    case Advice::kWillneed: return "MADV_WILLNEED";
    case Advice::kPageout: return "MADV_PAGEOUT";
    case Advice::kCold: return "MADV_COLD";
    case Advice::kPopulateRead: return "MADV_POPULATE_READ";
    case Advice::kPopulateWrite: return "MADV_POPULATE_WRITE";
    case Advice::kHugepage: return "MADV_HUGEPAGE";
    case Advice::kNohugepage: return "MADV_NOHUGEPAGE";
    case Advice::kDontfork: return "MADV_DONTFORK";
    case Advice::kDofork: return "MADV_DOFORK";
    case Advice::kWipeonfork: return "MADV_WIPEONFORK";
    case Advice::kKeeponfork: return "MADV_KEEPONFORK";
    case Advice::kGuardInstall: return "MADV_GUARD_INSTALL";
    case Advice::kGuardRemove: return "MADV_GUARD_REMOVE";
  }
  return "?";
}

std::string MmapFlagsC(const Op& op, const char* sep, std::set<std::string>* uses) {
  std::vector<std::string> f = {op.shared ? "MAP_SHARED" : "MAP_PRIVATE",
                                (op.flags & kFlagFixed) ? "MAP_FIXED" : "MAP_FIXED_NOREPLACE"};
  if (op.backing == Backing::kAnon) f.push_back("MAP_ANONYMOUS");
  if (op.flags & kFlagPopulate) f.push_back("MAP_POPULATE");
  if (op.flags & kFlagNoreserve) f.push_back("MAP_NORESERVE");
  if (op.flags & kFlagHugetlb) f.push_back("MAP_HUGETLB");
  std::string out;
  for (const std::string& s : f) {
    if (uses) uses->insert(s);
    out += (out.empty() ? "" : sep) + s;
  }
  return out;
}

std::string MremapFlagsC(const Op& op, const char* sep, std::set<std::string>* uses) {
  std::string out;
  auto add = [&](const char* s) {
    if (uses) uses->insert(s);
    out += (out.empty() ? "" : sep) + std::string(s);
  };
  if (op.flags & kFlagMove) add("MREMAP_MAYMOVE"), add("MREMAP_FIXED");
  if (op.flags & kFlagDontunmap) add("MREMAP_DONTUNMAP");
  return out.empty() ? "0" : out;
}

std::string UffdApiFeaturesC(uint32_t f, const char* sep, std::set<std::string>* uses) {
  std::string out = "UFFD_FEATURE_PAGEFAULT_FLAG_WP";
  if (uses) uses->insert(out);
  if (f) out += sep + Bits(f, kUffdFeatureC, std::size(kUffdFeatureC), sep, uses);
  return out;
}

std::string ScanFlagsC(const Op& op, const char* sep, std::set<std::string>* uses) {
  std::string out;
  auto add = [&](const char* s) {
    if (uses) uses->insert(s);
    out += (out.empty() ? "" : sep) + std::string(s);
  };
  if (op.flags & kFlagWpMatching) add("PM_SCAN_WP_MATCHING");
  if (op.flags & kFlagCheckWpasync) add("PM_SCAN_CHECK_WPASYNC");
  return out.empty() ? "0" : out;
}

std::string UffdModesC(uint32_t modes, const char* sep, std::set<std::string>* uses) {
  return Bits(modes, kUffdModeC, std::size(kUffdModeC), sep, uses);
}

std::string CategoriesC(uint32_t mask, const char* sep, std::set<std::string>* uses) {
  return Bits(mask, kCategoryC, std::size(kCategoryC), sep, uses);
}

uint32_t ScanVecLen(const Op& op) {
  uint32_t v = (op.flags & kFlagHasVec) ? op.scan_vec : op.npages;
  return std::min(v, kMaxObservedPages);
}

std::string UapiDefines(const std::set<std::string>& uses) {
  std::string out;
  for (const Uapi& u : kUapi)
    if (uses.count(u.name)) out += Fmt("#ifndef %s\n#define %s %s /* %s */\n#endif\n", u.name, u.name, u.value, u.from);
  return out;
}

std::string NewerUapiDefines(const std::set<std::string>& uses) {
  // Newer than 6.1: MADV_GUARD_* (6.13), UFFD_FEATURE_WP_UNPOPULATED (6.4),
  // UFFD_FEATURE_WP_ASYNC (6.7).
  static const std::set<std::string> kNewer = {"MADV_GUARD_INSTALL", "MADV_GUARD_REMOVE",
                                               "UFFD_FEATURE_WP_UNPOPULATED", "UFFD_FEATURE_WP_ASYNC"};
  std::set<std::string> newer;
  for (const std::string& u : uses)
    if (kNewer.count(u)) newer.insert(u);
  return UapiDefines(newer);
}

}  // namespace repro_detail

using namespace repro_detail;

std::string SyscallText(const Op& op, size_t index) {
  auto addr = [](uint32_t page) { return Hex(PageAddress(page)); };
  auto len = [](uint32_t n) { return std::to_string(uint64_t{n} * kPageSize); };
  std::string fd = "fd" + std::to_string(op.file);
  switch (op.kind) {
    case OpKind::kRequires:
      return "(no call: the program needs " + FeatureList(op.required_features) + ")";
    case OpKind::kMmap:
      return "mmap(" + addr(op.page) + ", " + len(op.npages) + ", " + ProtText(op.prot) +
             ", " + MmapFlagsC(op, "|", nullptr) + ", " + (op.backing == Backing::kAnon ? "-1" : fd) + ", " +
             len(op.file_pgoff) + ")";
    case OpKind::kMunmap:
      return "munmap(" + addr(op.page) + ", " + len(op.npages) + ")";
    case OpKind::kMprotect:
      return "mprotect(" + addr(op.page) + ", " + len(op.npages) + ", " + ProtText(op.prot) + ")";
    case OpKind::kMremap:
      return "mremap(" + addr(op.page) + ", " + len(op.npages) + ", " + len(op.new_npages) + ", " +
             MremapFlagsC(op, "|", nullptr) + ((op.flags & kFlagMove) ? ", " + addr(op.new_page) : "") + ")";
    case OpKind::kMadvise:
      return "madvise(" + addr(op.page) + ", " + len(op.npages) + ", " + AdviceC(op.advice) + ")";
    case OpKind::kRead:
      return "load one byte at " + Hex(PageAddress(op.page) + op.offset);
    case OpKind::kWrite:
      return Fmt("store 0x%02x at ", WriteToken(op, index)) + Hex(PageAddress(op.page) + op.offset);
    case OpKind::kFork:
      return "fork()";
    case OpKind::kExit:
      return "_exit(0)";
    case OpKind::kClearRefs:
      return "write(\"/proc/self/clear_refs\", \"" + std::to_string(op.value) + "\")";
    case OpKind::kMemfd:
      return fd + " = memfd_create(\"mmdiff-" + std::to_string(op.file) + "\", 0); ftruncate(" + fd + ", " +
             len(op.npages) + ")";
    case OpKind::kFile:
      return fd + " = open(\"$TMPDIR/f" + std::to_string(op.file) + "\", O_RDWR|O_CREAT|O_TRUNC); ftruncate(" + fd +
             ", " + len(op.npages) + ")";
    case OpKind::kFtruncate:
      return "ftruncate(" + fd + ", " + len(op.npages) + ")";
    case OpKind::kFwrite:
      return Fmt("pwrite(%s, &(char){0x%02x}, 1, ", fd.c_str(), WriteToken(op, index)) + len(op.page) + ")";
    case OpKind::kFpunch:
      return "fallocate(" + fd + ", FALLOC_FL_PUNCH_HOLE|FALLOC_FL_KEEP_SIZE, " + len(op.page) + ", " +
             len(op.npages) + ")";
    case OpKind::kUffdOpen:
      return "uffd = userfaultfd(O_CLOEXEC|O_NONBLOCK); ioctl(uffd, UFFDIO_API, {.features = " +
             UffdApiFeaturesC(op.uffd_features, "|", nullptr) + "})";
    case OpKind::kUffdRegister:
      return "ioctl(uffd, UFFDIO_REGISTER, {" + addr(op.page) + ", " + len(op.npages) + ", " +
             UffdModesC(op.uffd_modes, "|", nullptr) + "})";
    case OpKind::kUffdUnregister:
      return "ioctl(uffd, UFFDIO_UNREGISTER, {" + addr(op.page) + ", " + len(op.npages) + "})";
    case OpKind::kUffdWp: {
      std::string mode = (op.flags & kFlagWpOn) ? "UFFDIO_WRITEPROTECT_MODE_WP" : "0";
      if (op.flags & kFlagDontwake) mode += "|UFFDIO_WRITEPROTECT_MODE_DONTWAKE";
      return "ioctl(uffd, UFFDIO_WRITEPROTECT, {" + addr(op.page) + ", " + len(op.npages) + ", " + mode + "})";
    }
    case OpKind::kPagemap:
      return "pread(\"/proc/self/pagemap\", " + std::to_string(uint64_t{op.npages} * 8) + " bytes at " +
             Hex((kArenaBase / kPageSize + op.page) * 8) + ")";
    case OpKind::kScan: {
      std::string s = "ioctl(pagemap, PAGEMAP_SCAN, {.start = " + addr(op.page) + ", .end = " +
                      addr(op.page + op.npages);
      if (op.flags & (kFlagWpMatching | kFlagCheckWpasync)) s += ", .flags = " + ScanFlagsC(op, "|", nullptr);
      if (op.scan_req) s += ", .category_mask = " + CategoriesC(op.scan_req, "|", nullptr);
      if (op.scan_inv) s += ", .category_inverted = " + CategoriesC(op.scan_inv, "|", nullptr);
      if (op.scan_any) s += ", .category_anyof_mask = " + CategoriesC(op.scan_any, "|", nullptr);
      s += ", .return_mask = " +
           ((op.flags & kFlagHasRet) ? CategoriesC(op.scan_ret, "|", nullptr) : std::string("<all the kernel knows>"));
      s += ", .vec_len = " + std::to_string(ScanVecLen(op));
      if (op.scan_max) s += ", .max_pages = " + std::to_string(op.scan_max);
      return s + "})";
    }
  }
  return "?";
}

}  // namespace mmdiff
