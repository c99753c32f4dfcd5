#include "prog/op_table.h"

#include <array>

namespace mmdiff {
namespace {

using A = ArgKind;

constexpr ArgSpec kRequiresArgs[] = {{A::kFeatures}};
constexpr ArgSpec kMmapArgs[] = {
    {A::kPage},    {A::kNpages},
    {A::kProt},    {A::kBacking},
    {A::kSharing}, {A::kFlag, "populate", kFlagPopulate},
    {A::kFlag, "noreserve", kFlagNoreserve}, {A::kFlag, "fixed", kFlagFixed},
    {A::kFlag, "hugetlb", kFlagHugetlb},
};
constexpr ArgSpec kRangeArgs[] = {{A::kPage}, {A::kNpages}};
constexpr ArgSpec kMprotectArgs[] = {{A::kPage}, {A::kNpages}, {A::kProt}};
constexpr ArgSpec kMremapArgs[] = {
    {A::kPage}, {A::kNpages}, {A::kNewNpages}, {A::kMove, "move", kFlagMove},
    {A::kFlag, "dontunmap", kFlagDontunmap},
};
constexpr ArgSpec kMadviseArgs[] = {{A::kPage}, {A::kNpages}, {A::kAdvice}};
constexpr ArgSpec kReadArgs[] = {{A::kPage}, {A::kOffset}};
constexpr ArgSpec kWriteArgs[] = {{A::kPage}, {A::kOffset}, {A::kByte}};
constexpr ArgSpec kClearRefsArgs[] = {{A::kClearRefsType}};
constexpr ArgSpec kFileSizeArgs[] = {{A::kFile}, {A::kNpages}};
constexpr ArgSpec kFwriteArgs[] = {{A::kFile}, {A::kFilePage}, {A::kByte}};
constexpr ArgSpec kFpunchArgs[] = {{A::kFile}, {A::kFilePage}, {A::kNpages}};
constexpr ArgSpec kUffdOpenArgs[] = {{A::kUffdFeatures}};
constexpr ArgSpec kUffdRegisterArgs[] = {{A::kPage}, {A::kNpages}, {A::kUffdModes}};
constexpr ArgSpec kUffdWpArgs[] = {
    {A::kPage}, {A::kNpages}, {A::kOnOff}, {A::kFlag, "dontwake", kFlagDontwake}};
constexpr ArgSpec kScanArgs[] = {
    {A::kPage},
    {A::kNpages},
    {A::kFlag, "wp_matching", kFlagWpMatching},
    {A::kFlag, "check_wpasync", kFlagCheckWpasync},
    {A::kCategories, "req", kScanReq},
    {A::kCategories, "inv", kScanInv},
    {A::kCategories, "any", kScanAny},
    {A::kCategories, "ret", kScanRet},
    {A::kNumber, "max", kScanMax},
    {A::kNumber, "vec", kScanVec},
};

// Indexed by OpKind.
using P = OpPages;
constexpr uint8_t kObs = kTraitObserves, kFork = kTraitForks, kFileOp = kTraitFileOp, kUffd = kTraitUffdIoctl;

// Indexed by OpKind.
const OpInfo kOps[] = {
    {OpKind::kRequires, "requires", kRequiresArgs, "features the program needs; skipped where one is missing",
     P::kNone, 0, "(no call)"},
    {OpKind::kMmap, "mmap", kMmapArgs, "mmap(ARENA_BASE+PAGE*4096, N pages, PROT, BACKING, SHARING, MAP_FIXED_NOREPLACE)",
     P::kRange, 0, "mmap"},
    {OpKind::kMunmap, "munmap", kRangeArgs, "munmap(PAGE, N)", P::kRange, 0, "munmap"},
    {OpKind::kMprotect, "mprotect", kMprotectArgs, "mprotect(PAGE, N, PROT)", P::kRange, 0, "mprotect"},
    {OpKind::kMremap, "mremap", kMremapArgs, "mremap(PAGE, OLDN, NEWN [MAYMOVE|FIXED to NEWPAGE] [DONTUNMAP])",
     P::kRangeAndDest, 0, "mremap"},
    {OpKind::kMadvise, "madvise", kMadviseArgs, "madvise(PAGE, N, ADVICE)", P::kRange, 0, "madvise"},
    {OpKind::kRead, "read", kReadArgs, "load one byte", P::kOne, 0, "a load"},
    {OpKind::kWrite, "write", kWriteArgs, "store one byte (a token derived from the op index unless =BYTE)", P::kOne,
     0, "a store"},
    {OpKind::kFork, "fork", {}, "fork(); the child is the next process number", P::kAll, kFork, "fork"},
    {OpKind::kExit, "exit", {}, "the issuing process exits", P::kNone, 0, "_exit"},
    {OpKind::kClearRefs, "clear_refs", kClearRefsArgs, "write TYPE to /proc/self/clear_refs", P::kAll, 0,
     "write(/proc/self/clear_refs)"},
    {OpKind::kMemfd, "memfd", kFileSizeArgs, "memfd_create file slot F with N pages", P::kNone, kFileOp,
     "memfd_create"},
    {OpKind::kFile, "file", kFileSizeArgs, "regular file slot F with N pages in the executor's temporary directory",
     P::kNone, kFileOp, "open"},
    {OpKind::kFtruncate, "ftruncate", kFileSizeArgs, "ftruncate file slot F to N pages", P::kNone, kFileOp,
     "ftruncate"},
    {OpKind::kFwrite, "fwrite", kFwriteArgs, "pwrite one byte at page PAGE of file F", P::kNone, kFileOp, "pwrite"},
    {OpKind::kFpunch, "fpunch", kFpunchArgs, "fallocate(PUNCH_HOLE|KEEP_SIZE) pages [PAGE, PAGE+N) of file F",
     P::kNone, kFileOp, "fallocate(FALLOC_FL_PUNCH_HOLE)"},
    {OpKind::kUffdOpen, "uffd_open", kUffdOpenArgs, "userfaultfd() + UFFDIO_API with the listed features", P::kNone,
     0, "userfaultfd"},
    {OpKind::kUffdRegister, "uffd_register", kUffdRegisterArgs, "UFFDIO_REGISTER with the listed modes", P::kRange,
     kUffd, "ioctl(UFFDIO_REGISTER)"},
    {OpKind::kUffdUnregister, "uffd_unregister", kRangeArgs, "UFFDIO_UNREGISTER", P::kRange, kUffd,
     "ioctl(UFFDIO_UNREGISTER)"},
    {OpKind::kUffdWp, "uffd_wp", kUffdWpArgs, "UFFDIO_WRITEPROTECT on or off", P::kRange, kUffd,
     "ioctl(UFFDIO_WRITEPROTECT)"},
    {OpKind::kPagemap, "pagemap", kRangeArgs, "read N entries of /proc/self/pagemap", P::kRange, kObs,
     "pread(/proc/self/pagemap)"},
    {OpKind::kScan, "scan", kScanArgs, "ioctl(PAGEMAP_SCAN) with named fields", P::kRange, kObs,
     "ioctl(PAGEMAP_SCAN)"},
};
static_assert(std::size(kOps) == kNumOpKinds);

constexpr const char* kProtNames[] = {"none", "r", "rw", "rx", "rwx"};
constexpr const char* kAdviceNames[] = {
    "dontneed",      "free",          "remove",    "willneed",   "pageout",   "cold",
    "populate_read", "populate_write", "hugepage", "nohugepage", "dontfork",  "dofork",
    "wipeonfork",    "keeponfork",    "guard_install", "guard_remove",
};
static_assert(std::size(kAdviceNames) == kNumAdvice);
constexpr const char* kFeatureNames[] = {
    "soft_dirty", "uffd_wp", "wp_async", "wp_unpopulated", "pagemap_scan",
    "scan_soft_dirty", "thp", "hugetlb", "swap", "guard",
};
static_assert(std::size(kFeatureNames) == kNumFeatures);
constexpr const char* kUffdFeatureNames[] = {
    "wp_async", "wp_unpopulated", "wp_hugetlbfs_shmem", "event_fork",
    "event_remap", "event_remove", "event_unmap",
};
static_assert(std::size(kUffdFeatureNames) == kNumUffdFeatures);
constexpr const char* kUffdModeNames[] = {"missing", "wp", "minor"};
constexpr const char* kScanCategoryNames[] = {
    "wpallowed", "written", "file", "present", "swapped", "pfnzero", "huge", "soft_dirty", "guard",
};
static_assert(std::size(kScanCategoryNames) == kNumScanCategories);
constexpr char kScanCategoryLetters[] = {'a', 'w', 'f', 'p', 's', 'z', 'h', 'd', 'g'};

}  // namespace

const OpInfo& GetOpInfo(OpKind kind) { return kOps[static_cast<int>(kind)]; }
std::span<const OpInfo> AllOps() { return kOps; }

std::optional<OpKind> OpKindByName(std::string_view name) {
  for (const OpInfo& info : kOps)
    if (name == info.name) return info.kind;
  return std::nullopt;
}

bool IsPositional(ArgKind kind) {
  switch (kind) {
    case A::kPage: case A::kFilePage: case A::kNpages: case A::kNewNpages: case A::kProt:
    case A::kBacking: case A::kSharing: case A::kAdvice: case A::kFile: case A::kClearRefsType:
    case A::kOnOff:
      return true;
    case A::kFlag: case A::kMove: case A::kOffset: case A::kByte: case A::kCategories:
    case A::kNumber: case A::kFeatures: case A::kUffdFeatures: case A::kUffdModes:
      return false;
  }
  return false;
}

bool IsList(ArgKind kind) {
  return kind == A::kFeatures || kind == A::kUffdFeatures || kind == A::kUffdModes;
}

std::span<const char* const> ProtNames() { return kProtNames; }
std::span<const char* const> AdviceNames() { return kAdviceNames; }
std::span<const char* const> FeatureNames() { return kFeatureNames; }
std::span<const char* const> UffdFeatureNames() { return kUffdFeatureNames; }
std::span<const char* const> UffdModeNames() { return kUffdModeNames; }
std::span<const char* const> ScanCategoryNames() { return kScanCategoryNames; }
std::span<const char> ScanCategoryLetters() { return kScanCategoryLetters; }

uint32_t& ScanFieldRef(Op& op, uint32_t field) {
  switch (field) {
    case kScanReq: return op.scan_req;
    case kScanInv: return op.scan_inv;
    case kScanAny: return op.scan_any;
    case kScanRet: return op.scan_ret;
    case kScanMax: return op.scan_max;
    default: return op.scan_vec;
  }
}

uint32_t ScanFieldValue(const Op& op, uint32_t field) {
  return ScanFieldRef(const_cast<Op&>(op), field);
}

uint32_t PresenceFlag(const ArgSpec& spec) {
  switch (spec.kind) {
    case A::kFlag: case A::kMove: return spec.bit;
    case A::kOffset: return kFlagHasOffset;
    case A::kByte: return kFlagHasByte;
    case A::kCategories: return spec.bit == kScanRet ? uint32_t{kFlagHasRet} : 0u;
    case A::kNumber: return spec.bit == kScanVec ? uint32_t{kFlagHasVec} : 0u;
    default: return 0;
  }
}

}  // namespace mmdiff
