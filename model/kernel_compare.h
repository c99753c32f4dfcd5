// The kernel against another kernel (docs/CONTRACT.md §14.3): the same
// program's traces from two kernels, each already judged against the model
// with its own profile. A difference is a finding (`kernel-differs`) when
// the model allows the answer on neither kernel or on only one; where it
// allows both (a latitude, or behaviours and features the two probes
// measured differently) it is explained, not a finding. No model state:
// only the two traces and the two verdicts.
#pragma once

#include <cstddef>
#include <string>

#include "model/judge.h"
#include "model/profile.h"
#include "prog/program.h"
#include "prog/result.h"

namespace mmdiff {

struct KernelRun {
  std::string name;  // "host 6.18.44", "guest 6.12 6.12.118+deb12-cloud-amd64"
  const KernelProfile* profile = nullptr;
  const Trace* trace = nullptr;
  const Judgement* judgement = nullptr;  // JudgeKernelRun of `trace` with `profile`
};

struct KernelComparison {
  enum class Kind : uint8_t {
    kSame,       // the kernels answered every op alike
    kExplained,  // they differ where the model allows each kernel's answer
    kSkipped,    // they differ where the model does not judge one of them
    kDiffers,    // a finding: `judgement`
  };
  Kind kind = Kind::kSame;
  size_t op_index = 0;  // the first op answered differently
  // kDiffers: class kernel-differs, the line naming both kernels and their
  // answers, the detail with both traces.
  Judgement judgement;
};

// The first op the two kernels answered differently, judged. A run that did
// not complete (a splat, a hang, a limit) is not compared (kSkipped).
// Where the model stopped on a kernel before that op (unmodelled, or an
// earlier divergence), it is kSkipped, unless the two profiles are the
// same model (ModelsAgree): then the model, whatever it would answer,
// answers it alike for both, so at most one kernel is right.
KernelComparison CompareKernels(const Program& prog, const KernelRun& a, const KernelRun& b);

// Whether the model predicts the same answers for the two profiles: every
// field it reads is equal (features, behaviours, THP mode, quirks, ...).
bool ModelsAgree(const KernelProfile& a, const KernelProfile& b);

// The program with both kernels' answers after each op, for report.txt.
std::string TwoTraces(const Program& prog, const KernelRun& a, const KernelRun& b);

}  // namespace mmdiff
