// What the engines' entry points share (harness.cc for libFuzzer and the
// AFL++ driver, afl_mutator.cc for AFL++'s custom mutator library): the
// local kernel behind one long-lived executor, and mutation of encoded
// programs (prog/binary.h) through the Mutator's table (fuzz/mutator.h).
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "fuzz/mutator.h"
#include "model/profile.h"
#include "prog/program.h"
#include "target/target.h"

namespace mmdiff::engine {

// Programs the engines run and produce are cut to this many ops.
constexpr size_t kMaxOps = 60;
// Inputs larger than this are rejected without decoding (60 ops encode in
// well under 1 KiB).
constexpr size_t kMaxInputBytes = 16 << 10;

// The executor: $MMDIFF_EXECUTOR, else the mmdiff-executor of the main
// build this engine was configured from (MMDIFF_EXECUTOR_PATH).
std::string ExecutorPath();

struct Kernel {
  std::unique_ptr<Target> target;
  KernelProfile profile;
  int failures_in_a_row = 0;  // Target::Run failures since the last success
};
// The running kernel behind one local executor server, started and probed
// on first use, and again in a process forked after that (AFL++'s fork
// server: the parent's executor belongs to the parent). Prints an
// "mmdiff-engine: ..." line and exits(1) when the executor cannot start.
Kernel& LocalKernel();

// The kernel's profile from a probe by a short-lived executor (for the
// AFL++ mutator library, which runs no programs); the 6.18 host profile if
// the probe fails (with a warning on stderr).
KernelProfile ProbeProfile();

// Keeps a few recent programs as splice partners when the engine gives none.
class Recent {
 public:
  void Add(const Program& p);
  std::span<const Program> programs() const { return progs_; }

 private:
  std::vector<Program> progs_;
  size_t next_ = 0;
};

// Decodes `data` (a program that does not decode, or decodes to nothing
// modelled, is replaced by a generated one), mutates it with `mutator`
// (splice partners: `other` when it decodes, else `recent`), and encodes
// the result into `out` (at most `max_size` bytes, cutting trailing ops to
// fit). Returns the encoded size, 0 when nothing fit. *which: the mutator
// that applied, or -1 (a generated program).
size_t MutateEncoded(Mutator* mutator, Recent* recent, std::span<const uint8_t> data,
                     std::span<const uint8_t> other, uint8_t* out, size_t max_size, uint64_t seed, int* which);

}  // namespace mmdiff::engine
