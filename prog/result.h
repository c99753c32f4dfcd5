// What the kernel (or the model) answered for one op, and for a whole program.
#pragma once

#include <cstdint>
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
// The bits the text format shows; the rest (PFN, swap offset) is raw detail.
constexpr uint64_t kPmShownBits = kPmPresent | kPmSwap | kPmFile | kPmMmapExclusive | kPmUffdWp |
                                  kPmSoftDirty | kPmGuardRegion;

struct ScanRegion {
  uint64_t start = 0;  // arena page
  uint64_t end = 0;    // arena page, exclusive
  uint32_t categories = 0;
  bool operator==(const ScanRegion&) const = default;
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

  bool operator==(const Result&) const = default;
};

// Whether an observed result satisfies an expected one: exact, except for
// pagemap bits the expectation leaves open ('?', Result::either) and the raw
// PFN/swap bits, which the text format does not show.
bool ResultMatches(const Result& expected, const Result& observed);

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
  bool operator==(const Trace&) const = default;
};

}  // namespace mmdiff
