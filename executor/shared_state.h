// The block of shared memory through which the server hands a program to the
// processes under test and collects their results.
//
// The server maps it once (MAP_SHARED, outside the arena) before forking p0;
// every process of the program inherits it across fork. Processes take turns:
// `turn` names the process that runs op `pc`; it writes the op's result, sets
// `turn` to the process of the next op and wakes the others (futex). Only one
// process runs an op at a time, so the results area needs no locking; the
// uffd handler threads only touch the per-process fault counters.
#pragma once

#include <atomic>
#include <cstdint>

#include "prog/op.h"

namespace mmdiff::exec {

constexpr uint32_t kTurnDone = 0xffffffffu;
constexpr size_t kDataBytes = 8u << 20;  // pagemap words and scan regions
// The second answers (ExecResult::cross...), apart, so that they never make
// an op of the program run out of kDataBytes; one that does not fit is not
// asked (CrossAnswer::kNone).
constexpr size_t kCrossBytes = 8u << 20;

// A VMA and the kB of it mapped by PMDs or hugetlb ptes, as smaps says
// (executor/smaps.h); raw addresses.
struct SmapsVma {
  uint64_t start, end;
  uint64_t huge_kb;
};
constexpr int kMaxSmapsVmas = 1024;
// Bits of the kernel-coverage edge map (AFL's 64 Ki: an edge's hash picks
// one; a program's few thousand edges collide rarely, and setting a bit is
// the cheapest work per traced PC, which the guest pays for every one).
constexpr uint32_t kKcovBitsLog2 = 16;
constexpr uint32_t kKcovBits = 1u << kKcovBitsLog2;

// A Result without heap parts: variable data lives in ExecShared::data.
struct ExecResult {
  uint8_t kind;  // mmdiff::ResultKind
  uint8_t uffd_faults;
  uint8_t is_scan;
  int32_t err;
  int32_t signal;
  int64_t value;
  uint64_t walk_end;  // scan: raw address
  uint32_t data_off;  // pagemap: u64 words; scan: struct page_region[]
  uint32_t data_count;
  // The kernel's second answer to the same question (prog/result.h
  // CrossAnswer): for pagemap, a PAGEMAP_SCAN of the range (regions at
  // cross_off); for scan, the pagemap words of [start, walk_end) at cross_off.
  // Offsets into ExecShared::cross_data.
  uint8_t cross;       // CrossAnswer::Kind
  uint8_t resplit;     // scan: the whole_/resumed_ fields hold answers
  int32_t cross_err;
  uint32_t cross_ret;  // pagemap: the cross scan's return_mask
  uint64_t cross_walk_end;  // raw address
  uint32_t cross_off;
  uint32_t cross_count;
  uint32_t whole_off, whole_count;  // page_region[]
  uint64_t whole_end;               // raw address
  uint32_t resumed_off, resumed_count;
  uint64_t resumed_end;
  // scan with a filter or a ret= narrower than every category, without
  // wp_matching: the same range up to its walk_end, unfiltered (page_region[]).
  uint8_t unfiltered;
  uint32_t unfiltered_off, unfiltered_count;
  uint64_t unfiltered_end;  // raw address
  // Where there is an unfiltered answer: the VMAs overlapping the op's range
  // with their PMD-mapped kB (SmapsVma[]).
  uint8_t smaps;
  uint32_t smaps_off, smaps_count;
};

struct ExecShared {
  // The program p0 may run: p0 is forked ahead, while the program before
  // runs, and waits until `go` is the number it was forked for (runner.cc).
  std::atomic<uint32_t> go;
  // p0's page faults when it began to wait for `go` (its own setup's).
  uint64_t spare_faults;
  std::atomic<uint32_t> turn;
  uint32_t pc;
  uint32_t nops;
  uint32_t nprocs;           // processes forked so far, p0 included
  uint32_t forking_child;    // number the next fork's child gets (for EVENT_FORK)
  uint32_t scan_default_ret; // return_mask when a scan has no ret= (0: no PAGEMAP_SCAN)
  uint32_t data_used;
  uint32_t cross_used;
  // Whether a VMA of the program could hold a PMD mapping (runner.cc
  // MayMapPmd); if not, smaps is not read (ops.cc CrossSmaps).
  uint32_t may_map_pmd;
  // A process that ran `exit` and passed the turn on, but may still be
  // tearing down its mm; the next process waits for it (proc.cc).
  std::atomic<int32_t> exited_pid;
  int32_t pids[kMaxProcs];
  // Sync faults the uffd handler resolved, per faulting process.
  std::atomic<uint32_t> faults[kMaxProcs][3];  // [proc][wp, missing, minor]
  // A child's uffd context created by EVENT_FORK: held by the parent's handler thread.
  std::atomic<int32_t> uffd_holder_pid[kMaxProcs];
  std::atomic<int32_t> uffd_holder_fd[kMaxProcs];
  // Handler threads between poll() and the end of their reads: a forking
  // process waits for 0 before it lets the next fork renumber forking_child
  // (uffd_handler.cc Drain, ops.cc Fork).
  std::atomic<int32_t> handlers_draining;
  // CLOCK_MONOTONIC ns when op 0 started and when the last op ended
  // (the runner's setup/program/exit split, channel.h RunTimings).
  uint64_t first_op_ns;
  uint64_t last_op_ns;
  char tmpdir[256];
  // Kernel coverage (kcov.h): whether the program processes trace
  // (KCOV_TRACE_PC), and the edges they saw, hashed into a bit map.
  // Cleared by the server after each run that used it.
  uint32_t kcov_on;
  uint64_t kcov[kKcovBits / 64];
  Op ops[kMaxOps];
  ExecResult results[kMaxOps];
  alignas(64) uint8_t data[kDataBytes];
  alignas(64) uint8_t cross_data[kCrossBytes];
};

}  // namespace mmdiff::exec
