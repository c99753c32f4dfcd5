// The verdict on one program, as `mmdiff check` (and later the fuzzer)
// reports it: the trace checked against the model, the program's own
// "=> RESULT" expectations checked against both the kernel and the model,
// and what the guest's console said about the kernel itself.
#pragma once

#include <string>

#include "model/checker.h"
#include "model/profile.h"
#include "prog/program.h"
#include "prog/result.h"

namespace mmdiff {

struct Judgement {
  // kLimit: the program hit a resource limit of the target (memory cap,
  // time bound); not judged, not a divergence.
  enum class Kind : uint8_t { kPass, kFail, kSkip, kLimit };
  Kind kind = Kind::kPass;
  // One line without the program's name: "" for a pass (or "known quirk
  // NAME[, NAME]" when the kernel's answers needed known quirks), the reason for a
  // skip ("needs soft_dirty"), the first failure for a fail
  // ("DIVERGENCE missed-dirty op=7 ...", "EXPECTATION op=3 ...",
  // "KERNEL-SPLAT ...", "HANG ..."), "LIMIT memory ..." / "LIMIT time ..."
  // for a limit.
  std::string line;
  std::string detail;  // multi-line: the address-space picture or console excerpt
  Verdict verdict;
};

// `kernel` is the trace a kernel produced for `prog`. `also`: another
// visitor of the checker's walk (model/replay.h), e.g. a campaign's coverage.
Judgement JudgeKernelRun(const Program& prog, const Trace& kernel, const KernelProfile& profile,
                         ReplayVisitor* also = nullptr);

// No kernel (--target model): every "=> RESULT" must agree with what the
// model predicts: equal where the expectation is exact (a '?' of the model
// there is a disagreement: the model is looser than the documentation).
Judgement JudgeModelOnly(const Program& prog, const KernelProfile& profile);

}  // namespace mmdiff
