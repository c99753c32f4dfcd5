// The trace checker: walks a program and the kernel's trace together, asks
// the model what each op may return, and stops at the first result the model
// does not allow (docs/CONTRACT.md §12).
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "model/allowance.h"
#include "model/consistency.h"
#include "model/model.h"
#include "model/profile.h"
#include "prog/program.h"
#include "prog/result.h"

namespace mmdiff {

enum class DivergenceClass : uint8_t {
  kMissedDirty,     // soft-dirty 0 where the model requires 1
  kSpuriousDirty,   // soft-dirty 1 where the model requires 0
  kWrongWp,         // uffd-wp bit or uffd-wp fault
  kWrongScan,       // PAGEMAP_SCAN regions, count or walk_end
  kWrongErrno,      // an error where the model expects another result, or the reverse
  kDataCorruption,  // a byte read back differs
  kWrongPagemap,    // present/swap/file/exclusive/guard bits
  kWrongFault,      // SIGSEGV/SIGBUS where none was expected, or the reverse
  kWrongResult,     // any other value (fork's process number)
  kHang,
  kLost,            // the process died without answering
  // The kernel's two answers to one question disagree (pagemap against
  // PAGEMAP_SCAN, a split scan against the unsplit one): no model needed
  // (model/consistency.h).
  kInconsistent,
  // Two kernels answer the same program differently where the model allows
  // the answer on neither or on only one of them (model/kernel_compare.h).
  kKernelDiffers,
};
std::string_view DivergenceClassName(DivergenceClass c);  // "missed-dirty"

struct Divergence {
  size_t op_index = 0;
  DivergenceClass cls = DivergenceClass::kWrongResult;
  // One stable greppable line, e.g.
  // DIVERGENCE missed-dirty op=7 "pagemap 0 4" page=2 bit=D kernel=0 model=1
  std::string line;
  // For dedup, what the kernel got wrong: class, op kind, field, direction
  // and the memory kind; no page numbers, op indices or incidental state (a
  // VMA's prot or registration is not the bug: the minimizer may change it).
  std::string signature;
  // Where it happened: the VMA's and the PTE's state in the model before the
  // op ("vma=rw,sd,wp-async|pte=anon,wp"), for reports.
  std::string where;
  // The address space of the op's process before the op (picture.h).
  std::string picture;
  Result kernel;
  Prediction model;
};

struct Verdict {
  enum class Status : uint8_t {
    kPass,        // every result allowed
    kDivergence,  // see `divergence`
    kSkipped,     // a `requires` feature is missing from the profile
    kUnmodelled,  // the model stopped at an op it does not model (`note`)
  };
  Status status = Status::kPass;
  std::optional<Divergence> divergence;
  std::string note;
  size_t ops_checked = 0;
  ConsistencyTally consistency;  // the kernel against itself, over the whole trace
  // Inconsistencies a known quirk of the kernel explains (not divergences;
  // their ops are in quirk_ops).
  std::vector<Inconsistency> excused;
  AllowanceCounts granted{};  // latitudes the model offered
  AllowanceCounts taken{};    // latitudes where the kernel's answer used them
  QuirkCounts quirks_taken{}; // known quirks the kernel's answers needed
  // The ops whose kernel answer the model allowed only through a quirk:
  // (op index, bits of Quirk).
  std::vector<std::pair<size_t, uint32_t>> quirk_ops;
  // The ops whose kernel answer the model allowed only through an
  // allowance (a latitude or an alternative of its doubt), in order, with
  // the Grants::bits of those allowances: where the kernel's answer settled
  // what the model could not say.
  std::vector<std::pair<size_t, uint32_t>> allowance_ops;
  // Bits of Quirk over quirk_ops.
  uint32_t QuirksTaken() const {
    uint32_t bits = 0;
    for (auto& [op, q] : quirk_ops) bits |= q;
    return bits;
  }
};

class ReplayVisitor;
// `also`: another visitor of the same walk (a campaign's coverage), which
// sees every step the checker allowed.
Verdict CheckTrace(const Program& prog, const Trace& trace, const KernelProfile& profile,
                   ReplayVisitor* also = nullptr);

// What the model predicts for every op (for `mmdiff run --target model`):
// the contract's answer, with the allowances' pagemap latitudes as
// Result::either ('?' when printed) and without what quirks allow. Ops after
// an unmodelled one get ResultKind::kNone.
Trace PredictTrace(const Program& prog, const KernelProfile& profile);

// Checks an expected result written in a program ("=> RESULT", '?' = either)
// against an observed one; returns a one-line description of the first
// difference, or nullopt when it matches.
std::optional<std::string> ExpectationMismatch(const Op& op, const Result& expected,
                                               const Result& observed);

}  // namespace mmdiff
