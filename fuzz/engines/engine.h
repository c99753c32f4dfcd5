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

#include "fuzz/engine_input.h"
#include "fuzz/mutator.h"
#include "model/profile.h"
#include "prog/program.h"
#include "target/target.h"

namespace mmdiff::engine {

// fuzz/engine_input.h: the one meaning of an input, shared with `mmdiff merge`.
constexpr size_t kMaxOps = kEngineMaxOps;
constexpr size_t kMaxInputBytes = kEngineMaxInputBytes;

// The executor: $MMDIFF_EXECUTOR, else the mmdiff-executor of the main
// build this engine was configured from (MMDIFF_EXECUTOR_PATH).
std::string ExecutorPath();

struct Kernel {
  std::unique_ptr<Target> target;
  KernelProfile profile;
  std::string name;           // "local" or "qemu", for messages
  int failures_in_a_row = 0;  // Target::Run failures since the last success
};
// The kernel the environment chooses (the target flags of `mmdiff fuzz` as
// MMDIFF_TARGET, MMDIFF_GUEST, MMDIFF_KERNEL, MMDIFF_APPEND,
// MMDIFF_MODEL_MUTANT, ...: cli/targets.h TargetArgsFromEnvironment; by
// default the running kernel through a local executor), started and probed
// on first use, and again in a process forked after that (AFL++'s fork
// server: the parent's executor or guest belongs to the parent). A guest
// lives as long as the engine process and reboots after a splat or a hang
// (target/qemu_target.cc), and dies with it. A bad choice prints an
// "mmdiff-engine: ..." line and exits 2; a target that cannot start, exit 1.
Kernel& EngineKernel();
// Ends the engine process's target now (a guest is shut down): before an
// abort(), so that no QEMU outlives the crash.
void CloseEngineKernel();

// The profile of the environment's kernel, probed by a short-lived target
// (for the AFL++ mutator library, which runs no programs); it
// dies as EngineKernel does when it cannot start or probe it.
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
