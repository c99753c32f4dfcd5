// What the kernel (or the model) answered for one op, and for a whole program.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace mmdiff {

enum class ResultKind : uint8_t {
  kNone,     // the op did not run (an earlier op hung or its process died)
  kOk,       // the call returned 0
  kValue,    // "= V": read byte, fork child number, scan region count
  kErr,      // "err ENAME"
  kFault,    // "fault SEGV" / "fault BUS": the access raised that signal
  kPagemap,  // one entry per page
  kHang,     // the program did not finish in time; this op was running
  kLost,     // the process running this op died without answering
};

// Userfaults a memory access raised and the executor's handler resolved.
enum UffdFault : uint8_t {
  kFaultWp = 1u << 0,       // "wpfault": sync uffd-wp fault
  kFaultMissing = 1u << 1,  // "missingfault": resolved with a zero page
  kFaultMinor = 1u << 2,    // "minorfault": resolved with UFFDIO_CONTINUE
};

// /proc/PID/pagemap bits (fs/proc/task_mmu.c, PM_*).
constexpr uint64_t kPmSoftDirty = 1ULL << 55;
constexpr uint64_t kPmMmapExclusive = 1ULL << 56;
constexpr uint64_t kPmUffdWp = 1ULL << 57;
constexpr uint64_t kPmGuardRegion = 1ULL << 58;
constexpr uint64_t kPmFile = 1ULL << 61;
constexpr uint64_t kPmSwap = 1ULL << 62;
constexpr uint64_t kPmPresent = 1ULL << 63;
constexpr uint64_t kPmPfnBits = (1ULL << 55) - 1;  // PFN (or swap type and offset)
// The bits the text format shows; the rest (PFN, swap offset) is raw detail.
constexpr uint64_t kPmShownBits = kPmPresent | kPmSwap | kPmFile | kPmMmapExclusive | kPmUffdWp |
                                  kPmSoftDirty | kPmGuardRegion;

// The one table of shown pagemap bits: the text's letter (its columns are
// in this order, "PSFXWDG"), the bit, its number in the kernel's pagemap
// documentation, and how a report names it.
struct PagemapBit {
  char letter;
  uint64_t bit;
  int number;
  const char* name;
};
std::span<const PagemapBit> PagemapBits();
const PagemapBit* PagemapBitByLetter(char letter);  // null for an unknown letter
// The letters in the order a divergence names them: soft-dirty and uffd-wp
// first, then the rest ("DWPSFXG").
const char* PagemapReportOrder();

struct ScanRegion {
  uint64_t start = 0;  // arena page
  uint64_t end = 0;    // arena page, exclusive
  uint32_t categories = 0;
  bool operator==(const ScanRegion&) const = default;
};

// A VMA (arena pages) and how many of its 4 KiB pages the kernel's smaps
// says are mapped by a PMD or a hugetlb pte (docs/CONTRACT.md §14, `huge`).
struct SmapsHuge {
  uint64_t start = 0;
  uint64_t end = 0;
  uint64_t huge_pages = 0;
  bool operator==(const SmapsHuge&) const = default;
};

// The same question asked through the other interface, right after the op
// (docs/CONTRACT.md §14, the consistency oracle). Not part of the program
// text: never printed, parsed nor compared by ResultMatches.
struct CrossAnswer {
  enum Kind : uint8_t {
    kNone,     // not asked (another op, an op that failed, a kernel without PAGEMAP_SCAN)
    kAnswered,
    kFailed,   // the second call failed (`err`)
  };
  Kind kind = kNone;
  int32_t err = 0;
  // pagemap op: PAGEMAP_SCAN of the same range, no flags, no filter,
  // return_mask `scan_ret` (every category the kernel accepts), a vec with
  // room for every page; `regions` and `walk_end` (arena page).
  // scan op: the pagemap words of [PAGE, walk_end) in `pagemap`.
  uint32_t scan_ret = 0;
  std::vector<ScanRegion> regions;
  uint64_t walk_end = 0;
  std::vector<uint64_t> pagemap;
  // scan op split by max= or a vec= smaller than its range, without
  // wp_matching: the same scan unsplit (`whole`, up to `whole_end`), and the
  // split scan resumed at each walk_end until the end (`resumed`: the regions
  // of all the continuations, up to `resumed_end`).
  bool resplit = false;
  std::vector<ScanRegion> whole;
  uint64_t whole_end = 0;
  std::vector<ScanRegion> resumed;
  uint64_t resumed_end = 0;
  // scan op with a filter (req=, inv=, any=) or a ret= narrower than every
  // category, without wp_matching: the same range up to its walk_end,
  // unfiltered, every category (`unfiltered`, walked up to `unfiltered_end`).
  bool has_unfiltered = false;
  std::vector<ScanRegion> unfiltered;
  uint64_t unfiltered_end = 0;
  // Where the op has an unfiltered answer (a pagemap op's scan, an
  // unfiltered scan op, or `unfiltered`): the VMAs overlapping the op's range
  // (up to the scan's walk_end) as /proc/self/smaps counts their PMD-mapped
  // pages, read right after it.
  bool has_smaps = false;
  std::vector<SmapsHuge> smaps;

  bool operator==(const CrossAnswer&) const = default;
};

struct Result {
  ResultKind kind = ResultKind::kNone;
  uint8_t uffd_faults = 0;  // UffdFault
  int32_t err = 0;          // errno, for kErr
  int32_t signal = 0;       // SIGSEGV/SIGBUS, for kFault
  int64_t value = 0;        // for kValue; the region count for scan
  // pagemap: one raw 64-bit entry per page. In an expected result read from
  // text, `either` holds the bits written as '?' (the model allows both).
  std::vector<uint64_t> pagemap;
  std::vector<uint64_t> either;
  // scan: regions and walk_end (an arena page); `value` is the ioctl's return.
  std::vector<ScanRegion> regions;
  uint64_t walk_end = 0;
  bool is_scan = false;  // kValue carrying regions + walk_end
  CrossAnswer cross;     // the kernel's second answer (kernel traces only)

  bool operator==(const Result&) const = default;
};

// Whether an observed result satisfies an expected one: exact, except for
// pagemap bits the expectation leaves open ('?', Result::either) and the raw
// PFN/swap bits, which the text format does not show.
bool ResultMatches(const Result& expected, const Result& observed);
// The first shown bit in which `observed` differs from `expected` outside
// expected's '?' bits, the tracked ones (D, W) before the others; null when
// they agree. `index`: the entry.
const PagemapBit* FirstPagemapDifference(const Result& expected, const Result& observed, size_t* index);


// How a run ended beyond the per-op results: what a guest's console or
// silence says about the kernel itself.
enum class TraceEnd : uint8_t {
  kCompleted,    // the executor answered (ops may still be kHang/kLost)
  kKernelSplat,  // the console showed BUG/WARNING/Oops/KASAN/panic/stall
  kGuestHang,    // the guest stopped answering and was killed
  // The program hit a resource limit of the target; its results are not
  // judged (the console says which): the memory cap (ENOMEM, reclaim, the
  // OOM killer), or it was still making progress at the time bound.
  kMemoryLimit,
  kTimeLimit,
};

struct Trace {
  std::vector<Result> results;  // one per op of the program
  TraceEnd end = TraceEnd::kCompleted;
  std::string console;          // the console excerpt for a splat or hang
  // The PFN of the zero page as the executor's pagemap shows it (0: not
  // visible, e.g. without CAP_SYS_ADMIN); for the consistency oracle's
  // PAGE_IS_PFNZERO comparison.
  uint64_t zero_pfn = 0;
  // The kernel code the program's processes ran, where the target collects
  // it (a guest kernel with KCOV, executor/kcov.h): hashed edges, sorted,
  // distinct. Feedback for a campaign only: not part of what the kernel
  // answered, so two traces that differ only here are equal.
  std::vector<uint32_t> kernel_cov;
  bool operator==(const Trace& o) const {
    return results == o.results && end == o.end && console == o.console && zero_pfn == o.zero_pfn;
  }
};

}  // namespace mmdiff
