// The C spellings of the uapi a reproducer uses (fuzz/repro_uapi.h), and the
// system calls of an op as C (SyscallText, fuzz/repro.h).
#include "fuzz/repro_uapi.h"

#include <algorithm>
#include <cinttypes>
#include <iterator>
#include <regex>
#include <vector>

#include "executor/uapi.h"
#include "fuzz/repro.h"
#include "fuzz/repro_fmt.h"
#include "prog/op_table.h"
#include "prog/text.h"

namespace mmdiff {
namespace repro_detail {
namespace {

std::string Hex(uint64_t v) { return Fmt("0x%" PRIx64, v); }

// The constants a reproducer may use that Linux 6.1's uapi headers (the
// oldest it is built with) lack, with the values of the executor's ABI
// header (executor/uapi.h); the PAGEMAP_SCAN ones are repro_clib.h's
// CScanUapi().
struct Uapi {
  const char* name;
  long value;
  const char* from;
};
const Uapi kNewerUapi[] = {
    {"MADV_GUARD_INSTALL", MADV_GUARD_INSTALL, "asm-generic/mman-common.h, 6.13"},
    {"MADV_GUARD_REMOVE", MADV_GUARD_REMOVE, "asm-generic/mman-common.h, 6.13"},
    {"UFFD_FEATURE_WP_UNPOPULATED", UFFD_FEATURE_WP_UNPOPULATED, "linux/userfaultfd.h, 6.4"},
    {"UFFD_FEATURE_WP_ASYNC", UFFD_FEATURE_WP_ASYNC, "linux/userfaultfd.h, 6.7"},
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

std::string NewerUapiDefines(const std::set<std::string>& uses) {
  std::string out;
  for (const Uapi& u : kNewerUapi)
    if (uses.count(u.name)) out += Fmt("#ifndef %s\n#define %s %#lx /* %s */\n#endif\n", u.name, u.name, u.value, u.from);
  return out;
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
