// The model mutants' findings as their 10-minute campaigns minimized them
// (bench/mutant_findings), one program per mutant, and what their C must do
// on a correct kernel: the finding's C (the mutant's expectation, or the
// broken oracle rule it redoes) FAILs, the real contract's C for the same
// step PASSes. Run on the local kernel (repro_test.cc) and in both Debian
// guests (repro_guest_test.cc), where the kernel has what the program uses.
#pragma once

#include <string>

#include "model/mutant.h"
#include "tests/fuzz/repro_test_util.h"

namespace mmdiff::reprotest {

struct MutantFinding {
  const char* mutant;
  const char* program;
};

inline constexpr MutantFinding kMutantFindings[] = {
    {"fork-drops-uffd-wp",
     "mmap 0 1 rw anon shared populate\nuffd_open event_fork\nuffd_register 0 1 wp\nuffd_wp 0 1 on\nfork\n"
     "p1: pagemap 0 1\n"},
    {"async-write-keeps-wp",
     "requires wp_async\nmmap 0 1 rw anon shared\nuffd_open wp_async\nuffd_register 0 1 wp\nuffd_wp 0 1 on\nwrite 0\n"
     "pagemap 0 1\n"},
    {"dontneed-keeps-anon", "mmap 0 1 rw anon private\nwrite 0\nmadvise 0 1 dontneed\npagemap 0 1\n"},
    {"cow-write-shares-page", "mmap 0 1 rw anon private populate\nfork\nwrite 0\np1: read 0\n"},
    {"clear-refs-keeps-soft-dirty", "requires soft_dirty\nmmap 0 1 rw anon private\nclear_refs 4\npagemap 0 1\n"},
    {"scan-ignores-max-pages", "requires pagemap_scan\nmmap 1 8 rw anon private\nscan 0 9 max=7\n"},
    {"huge-counts-zero-page",
     "requires pagemap_scan thp\nmmap 0 512 rw anon private\nmadvise 0 512 hugepage\nread 0\nscan 0 512\n"},
    {"mask-ignores-inverted",
     "requires pagemap_scan\nmmap 0 1 rw anon private\nscan 0 1 inv=wpallowed any=wpallowed ret=soft_dirty\n"},
    {"split-ignores-resumed", "requires pagemap_scan\nmmap 0 4 rw anon private\nwrite 0\nwrite 2\nscan 0 4 max=1\n"},
};

// Runs `f` on `target` and its two reproducers there. "" when its C FAILs
// and the contract's PASSes; "skip: ..." where the kernel lacks what it
// uses (or the huge zero page, which huge-counts-zero-page needs); else
// what went wrong.
inline std::string CheckMutantFinding(Target* target, const KernelProfile& profile, const MutantFinding& f) {
  Program prog = Parse(f.program);
  const MutantInfo* m = MutantByName(f.mutant);
  if (!m) return std::string("no mutant ") + f.mutant;
  if (uint32_t missing = (prog.Requires() | m->needs) & ~profile.features)
    return "skip: needs " + FeatureList(missing);
  Trace trace;
  std::string err, out;
  if (!target->Run(prog, &trace, &err)) return "run: " + err;
  KernelProfile mutated = profile;
  mutated.mutant = m->mutant;
  Judgement j = JudgeKernelRun(prog, trace, mutated);
  if (!j.verdict.divergence) {
    if (std::string(f.mutant) == "huge-counts-zero-page") return "skip: no huge zero page here (" + j.line + ")";
    return "the mutant does not diverge: " + (j.line.empty() ? std::string("PASS") : j.line);
  }
  ReproSpec spec = SpecForJudgement(prog, j);
  spec.self_test = f.mutant;
  spec.scan_categories = profile.scan_categories;
  auto bin = Compile(std::string(f.mutant) + "-mutant", WriteReproC(prog, spec));
  if (bin.empty()) return "the mutant's C does not build";
  int status = RunOn(target, bin, &out);
  if (status != 1 || out.rfind("FAIL: ", 0) != 0) return "the mutant's C gave " + std::to_string(status) + ": " + out;
  // The contract: the real model's check of the same step (for the kernel
  // against itself, the same check with the rule unbroken).
  size_t op = j.verdict.divergence->op_index;
  ReproSpec contract;
  contract.scan_categories = profile.scan_categories;
  if (j.verdict.divergence->cls == DivergenceClass::kInconsistent) {
    contract.checks = spec.checks;
  } else {
    Prediction pred;
    if (!PredictionAt(prog, trace, profile, op, &pred, &err)) return "contract: " + err;
    contract.checks.push_back(CheckFromPrediction(prog, op, pred));
  }
  bin = Compile(std::string(f.mutant) + "-contract", WriteReproC(prog, contract));
  if (bin.empty()) return "the contract's C does not build";
  status = RunOn(target, bin, &out);
  if (status != 0 || out != "PASS\n") return "the contract's C gave " + std::to_string(status) + ": " + out;
  return "";
}

}  // namespace mmdiff::reprotest
