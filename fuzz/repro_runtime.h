// The C runtime of a reproducer (fuzz/repro.h), as text: the pieces the
// writer (repro.cc) emits, each only when the program uses it. The C mirrors
// executor/ops.cc, proc.cc and uffd_handler.cc: a reproducer must do exactly
// what the executor did. Each piece is whole C definitions ending in a
// newline; the writer puts a blank line before it.
#pragma once

#include <string>

#include "fuzz/repro.h"

namespace mmdiff::repro_detail {

// The reproducer of a program whose children use a userfaultfd (repro.cc):
// every process runs the same straight-line code in turns through shared
// memory, a child borrowing its uffd from p0's handler (WriteReproC,
// fuzz/repro_c.cc, writes the others).
std::string WriteTurnsReproC(const Program& prog, const ReproSpec& spec);

// say(): printf to stdout in one write.
extern const char kSay[];
// `res`, the result of the step that just ran, and set_ok/set_err/ok_or_err.
extern const char kResult[];
// `sh`, the shared block of the turn protocol (sh_local without fork).
extern const char kShared[];
// The turn protocol between the processes of a program that forks:
// wait_turn, pass_turn, end_process, fail.
extern const char kTurns[];
// access_byte(): loads and stores that survive SIGSEGV/SIGBUS.
extern const char kAccess[];
// mmap_result(), mremap_result(): the result of mmap/mremap at a fixed address.
extern const char kMmapResult[];
extern const char kMremapResult[];
// File slots (fds[], open_slot) and the directory of `file` slots.
extern const char kFiles[];
extern const char kTmpdir[];
// pin_fault_around(): fault_around_bytes at 4096 while the program runs.
extern const char kFaultAround[];
// The userfaultfd handler thread; "@EVENT_FORK@" in it stands for
// kEventForkDrain (a program whose children borrow a uffd) or nothing.
extern const char kUffdHandler[];
extern const char kEventForkDrain[];
// uffd_adopt() without a handler thread (async write-protect only).
extern const char kUffdNoThread[];
// uffd_for_ops(): a child's fd to the uffd context its parent's handler holds.
extern const char kUffdBorrow[];
// uapi structures: uffd ioctls, the handler's ioctls and messages, PAGEMAP_SCAN.
extern const char kStructs[];
extern const char kHandlerStructs[];
extern const char kScanStructs[];
// The checks: one pagemap bit, a whole pagemap result, a whole result as text.
extern const char kCheckBit[];
extern const char kCheckPagemap[];
extern const char kCheckText[];
// conduct(): the parent of a program that forks waits, stops a hang and
// turns the verdict into the exit status (ends in a blank line).
extern const char kConduct[];

}  // namespace mmdiff::repro_detail
