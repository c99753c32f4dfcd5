// The op vocabulary of mmdiff: one flat, copyable Op per program line.
//
// An Op is plain data (no pointers, no heap) so the executor can place a whole
// program in shared memory and read it from every process under test without
// allocating. Which fields an op uses is decided by its row in the op table
// (op_table.h); fields it does not use stay zero.
#pragma once

#include <cstddef>
#include <cstdint>

namespace mmdiff {

// The arena: every program address is ARENA_BASE + page * 4096. 16 TiB is far
// from the heap (low) and from the kernel's top-down mmap area (near 128 TiB),
// and it is 1 GiB aligned, so 2 MiB-aligned THP and hugetlb ranges exist at
// every 512-page boundary.
constexpr uint64_t kArenaBase = 0x100000000000ULL;
constexpr uint64_t kPageSize = 4096;
constexpr uint32_t kArenaPages = 1u << 20;  // 4 GiB of address space
constexpr uint32_t kPagesPerPmd = 512;
// `x` rounded up to a multiple of `a` (a 2 MiB slot boundary: a = kPagesPerPmd).
constexpr uint32_t AlignUp(uint32_t x, uint32_t a) { return (x + a - 1) / a * a; }

constexpr int kMaxProcs = 16;        // p0..p15
constexpr int kMaxFiles = 8;         // file slots F: 0..7
constexpr uint32_t kMaxFilePages = 1u << 18;  // 1 GiB per file
constexpr uint32_t kMaxOps = 4096;
constexpr uint32_t kMaxObservedPages = 4096;  // pagemap N, scan vec=

enum class OpKind : uint8_t {
  kRequires,
  kMmap,
  kMunmap,
  kMprotect,
  kMremap,
  kMadvise,
  kRead,
  kWrite,
  kFork,
  kExit,
  kClearRefs,
  kMemfd,
  kFile,
  kFtruncate,
  kFwrite,
  kFpunch,
  kUffdOpen,
  kUffdRegister,
  kUffdUnregister,
  kUffdWp,
  kPagemap,
  kScan,
};
constexpr int kNumOpKinds = 22;

enum class Prot : uint8_t { kNone, kR, kRW, kRX, kRWX };
enum class Backing : uint8_t { kAnon, kMemfd, kFile };
enum class Advice : uint8_t {
  kDontneed,
  kFree,
  kRemove,
  kWillneed,
  kPageout,
  kCold,
  kPopulateRead,
  kPopulateWrite,
  kHugepage,
  kNohugepage,
  kDontfork,
  kDofork,
  kWipeonfork,
  kKeeponfork,
  kGuardInstall,
  kGuardRemove,
};
constexpr int kNumAdvice = 16;

// Option words of the op lines (Op::flags). One namespace for all ops; the
// op table says which words an op accepts.
enum OpFlag : uint32_t {
  kFlagPopulate = 1u << 0,      // mmap: MAP_POPULATE
  kFlagNoreserve = 1u << 1,     // mmap: MAP_NORESERVE
  kFlagFixed = 1u << 2,         // mmap: MAP_FIXED instead of MAP_FIXED_NOREPLACE
  kFlagHugetlb = 1u << 3,       // mmap: MAP_HUGETLB
  kFlagMove = 1u << 4,          // mremap: MREMAP_MAYMOVE|MREMAP_FIXED to new_page
  kFlagDontunmap = 1u << 5,     // mremap: MREMAP_DONTUNMAP
  kFlagWpOn = 1u << 6,          // uffd_wp: on (else off)
  kFlagDontwake = 1u << 7,      // uffd_wp: UFFDIO_WRITEPROTECT_MODE_DONTWAKE
  kFlagWpMatching = 1u << 8,    // scan: PM_SCAN_WP_MATCHING
  kFlagCheckWpasync = 1u << 9,  // scan: PM_SCAN_CHECK_WPASYNC
  kFlagHasOffset = 1u << 10,    // read/write: "+OFF" given
  kFlagHasByte = 1u << 11,      // write/fwrite: "=BYTE" given
  kFlagHasRet = 1u << 12,       // scan: "ret=" given (else: every category the kernel accepts)
  kFlagHasVec = 1u << 13,       // scan: "vec=" given (else: one region per page)
};

// Features a program can require (Op::requires); the probe reports the same set.
enum Feature : uint32_t {
  kFeatSoftDirty = 1u << 0,
  kFeatUffdWp = 1u << 1,
  kFeatWpAsync = 1u << 2,
  kFeatWpUnpopulated = 1u << 3,
  kFeatPagemapScan = 1u << 4,
  kFeatScanSoftDirty = 1u << 5,
  kFeatThp = 1u << 6,
  kFeatHugetlb = 1u << 7,
  kFeatSwap = 1u << 8,
  kFeatGuard = 1u << 9,  // MADV_GUARD_INSTALL and pagemap bit 58 (6.15+)
};
constexpr int kNumFeatures = 10;

// uffd_open feature words (Op::uffd_features). Our own bit numbering; the
// executor maps them to UFFD_FEATURE_* (executor/uapi.h).
enum UffdFeature : uint32_t {
  kUffdWpAsync = 1u << 0,
  kUffdWpUnpopulated = 1u << 1,
  kUffdWpHugetlbfsShmem = 1u << 2,
  kUffdEventFork = 1u << 3,
  kUffdEventRemap = 1u << 4,
  kUffdEventRemove = 1u << 5,
  kUffdEventUnmap = 1u << 6,
};
constexpr int kNumUffdFeatures = 7;

// uffd_register modes (Op::uffd_modes): the UFFDIO_REGISTER_MODE_* values.
enum UffdMode : uint32_t {
  kUffdModeMissing = 1u << 0,
  kUffdModeWp = 1u << 1,
  kUffdModeMinor = 1u << 2,
};

// PAGEMAP_SCAN categories: the uapi PAGE_IS_* values (include/uapi/linux/fs.h).
enum ScanCategory : uint32_t {
  kCatWpAllowed = 1u << 0,
  kCatWritten = 1u << 1,
  kCatFile = 1u << 2,
  kCatPresent = 1u << 3,
  kCatSwapped = 1u << 4,
  kCatPfnZero = 1u << 5,
  kCatHuge = 1u << 6,
  kCatSoftDirty = 1u << 7,
  kCatGuard = 1u << 8,
};
constexpr int kNumScanCategories = 9;

struct Op {
  OpKind kind = OpKind::kRequires;
  uint8_t proc = 0;           // pN that runs the op
  Prot prot = Prot::kNone;    // mmap, mprotect
  Backing backing = Backing::kAnon;  // mmap
  bool shared = false;        // mmap: MAP_SHARED
  Advice advice = Advice::kDontneed;  // madvise
  uint8_t file = 0;           // file slot F (memfd/file ops, mmap backing)
  uint8_t byte = 0;           // "=BYTE" (with kFlagHasByte)
  uint16_t offset = 0;        // "+OFF": byte offset inside the page
  uint32_t page = 0;          // arena page, or file page for fwrite/fpunch
  uint32_t npages = 0;        // N, OLDN; file size for memfd/file/ftruncate
  uint32_t new_npages = 0;    // mremap NEWN
  uint32_t new_page = 0;      // mremap "move NEWPAGE"
  uint32_t file_pgoff = 0;    // mmap backing "+OFF" in file pages
  uint32_t value = 0;         // clear_refs TYPE
  uint32_t flags = 0;         // OpFlag
  uint32_t required_features = 0;  // Feature (requires)
  uint32_t uffd_features = 0; // UffdFeature (uffd_open)
  uint32_t uffd_modes = 0;    // UffdMode (uffd_register)
  uint32_t scan_req = 0;      // category_mask
  uint32_t scan_inv = 0;      // category_inverted
  uint32_t scan_any = 0;      // category_anyof_mask
  uint32_t scan_ret = 0;      // return_mask (with kFlagHasRet)
  uint32_t scan_max = 0;      // max_pages
  uint32_t scan_vec = 0;      // vec_len (with kFlagHasVec)

  bool operator==(const Op&) const = default;
};

// The byte a `write`/`fwrite` stores: "=BYTE" if given, else a nonzero token
// derived from the op's index in its program, so every write is distinguishable.
inline uint8_t WriteToken(const Op& op, size_t index) {
  if (op.flags & kFlagHasByte) return op.byte;
  return static_cast<uint8_t>(1 + index % 255);
}

inline uint64_t PageAddress(uint32_t page) { return kArenaBase + uint64_t{page} * kPageSize; }

}  // namespace mmdiff
