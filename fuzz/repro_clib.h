// The C helpers of a single-process reproducer (fuzz/repro_c.cc), as text:
// each a few lines, emitted only when a step of the program needs it. They
// mirror executor/ops.cc, proc.cc and uffd_handler.cc, so that the C does
// what the executor did; everything else is plain libc calls in main().
// Each piece ends in a newline.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

namespace mmdiff::repro_detail {

// turn(p), pass(p): the processes of a program that forks take turns
// through pipes (after `me, holding, turns[][2]`); kCTurnsExit where a child
// exits; reap(), stop_all(): a process's failure is the program's.
extern const char kCTurns[];
extern const char kCTurnsExit[];
extern const char kCReap[];
// The handler thread of a program whose uffds only report events; both
// handlers poll the fds adopt() gives them.
extern const char kCEventReader[];
// kCEventReader for a program whose only uffd is p0's one: it reads `uffd`.
extern const char kCOneEventReader[];
// The userfaultfd handler thread: resolves sync faults as the executor's
// does (counting them for the steps' results) and reads events.
extern const char kCHandler[];
// The handler of a program with `nprocs` processes, as kCHandler or, with
// `procs` (its children use a uffd), with what a child needs: fault counts
// per process in shared memory (sh), the fork event recorded (sh->held_*),
// drop_uffds() after fork. kCHeld: held(c), waiting for child c's context to
// be recorded; kCBorrow: borrow(), a child's uffd from it (after kCHeld).
// `kinds`: the faults that can happen (kFaultWp, ...; 0: any); the others'
// resolution is left out. Without `faults` (no access can fault into a
// registered range) the thread only reads events, a fork's among them.
std::string CHandler(bool procs, int nprocs, uint8_t kinds, bool faults);
extern const char kCHeld[];
extern const char kCBorrow[];
// kCAccessFaults, reading this process's counts where `procs`, and without
// the signal recovery where no access may fault with a signal.
std::string CAccessFaults(bool procs, bool signals);
// acc(p, write, v): a load or store that survives SIGSEGV/SIGBUS; with
// kCAccFaults it also reports the uffd faults the handler resolved.
extern const char kCAccess[];
extern const char kCAccessFaults[];
// slot(f, fd, pages): a memfd/file slot of `pages` pages; file slots live in
// a temporary directory (kCFileDir), removed at exit.
extern const char kCSlot[];
extern const char kCFileDir[];
// pin_fault_around(): fault_around_bytes 4096 while the program runs,
// restored at exit, on its timeout and on SIGINT/SIGTERM/SIGHUP.
extern const char kCFaultAround[];
// The rest of a struct initializer after its first line: `fields`, each
// line under the brace holding as many as fit in about `width` columns, each
// line starting ",\n".
std::string CWrappedFields(const std::vector<std::string>& fields, size_t width);
// scan(page, n, ...): one PAGEMAP_SCAN into regions[] and got[], taking as
// parameters only the arguments (ScanArg order) that differ between the
// program's scans (`varies`), the others fixed to `constant`'s C; regions[]
// holds `vec_len`; got[] the result as mmdiff prints it, which the checks
// compare with the allowed ones and scan_fail() shows; kCScanCategories, in
// main(): `cats`, what a scan without ret= asks for (every category the
// kernel accepts).
enum ScanArg { kScanFlags, kScanReq, kScanInv, kScanAny, kScanRet, kScanVec, kScanMax, kNumScanArgs };
using ScanArgList = std::array<std::string, kNumScanArgs>;
// `note` ends its comment line.
std::string CScan(uint32_t vec_len, const ScanArgList& constant, const std::array<bool, kNumScanArgs>& varies,
                  const std::string& note = "");
extern const char kCCheckScan[];
extern const char kCScanCategories[];
// The PAGEMAP_SCAN uapi (linux/fs.h, 6.7), declared whatever the system
// headers have (linux/fs.h is not included): the structs and the ioctl, and
// of the flags and categories only those
// `body` names: the categories' bits from prog's table (their names
// upper-cased), the flags from the executor's ABI header (executor/uapi.h).
std::string CScanUapi(const std::string& body);
// want(), expect(): a whole result (0 ok, -errno, a value) against the
// allowed one or ones; expect_page(): one page's pagemap entry.
extern const char kCWant[];
extern const char kCExpect[];
// The pagemap bits' names and numbers as C arrays bit_name[], bit_no[]
// (prog/result.h PagemapBits(), in PagemapReportOrder()): what
// expect_page(), expect_pagemap() and check_pagemap() name a wrong bit by.
std::string CPagemapBitTable();
extern const char kCExpectPage[];
// expect_pagemap(): a whole pagemap result against the allowed ones.
extern const char kCExpectPagemap[];
// meminfo(name): a number of /proc/meminfo (hugetlb and swap probes).
extern const char kCMeminfo[];

}  // namespace mmdiff::repro_detail
