// Standalone C reproducers (syzkaller's csource, from our op table).
//
// WriteReproC turns a program into one C file that needs only libc and the
// system's uapi headers (what Linux 6.1's lack is defined, only where the
// program uses it), making the same system calls as executor/ops.cc at the
// same arena addresses (fuzz/repro_c.cc), as a person would send it: the
// steps as plain libc calls in main() with the uapi structs named, a short
// helper per op kind that needs more than one call, a userfaultfd handler
// thread only where a sync fault or an event can happen, fault-around pinned
// only where the program depends on it; steps that only observe and are not
// checked are left out; a program whose forks each leave their process
// only steps of its own before the child's runs as one line of descent (the
// child waits on a pipe for its parent's steps), the others take turns
// through pipes (sharing the handler's records in memory where its children
// use a userfaultfd); an inconsistent finding (the kernel against itself)
// redoes the step's second look and checks the relation
// (fuzz/repro_consistency.h). After the steps it prints
// one line and exits:
//
//   FAIL: page 2: soft-dirty is 0 after a write at step 5 (expected 1: written since clear_refs at step 3)
//     exit 1: the kernel does not do what the documentation says
//   PASS  exit 0: it does (a fixed kernel)
//   SKIP: ...  exit 125 ("cannot test" for git bisect run): a feature the
//              program requires is missing
//
// A step still running after the timeout is a FAIL (hang). The C compiles
// with `cc -O2 -static -Wall -Werror`.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "model/checker.h"
#include "model/judge.h"
#include "model/profile.h"
#include "prog/program.h"
#include "prog/result.h"

namespace mmdiff {

// What the reproducer checks right after one step.
struct ReproCheck {
  size_t op_index = 0;
  // One pagemap bit of one page (a pagemap divergence) ...
  bool single_bit = false;
  uint32_t page = 0;   // arena page
  char bit = 0;        // 'P' 'S' 'F' 'X' 'W' 'D' 'G' (docs/FORMAT.md pagemap letters)
  bool value = false;  // what the contract requires
  // ... or the whole result, which must be one of these (pagemap: `either`
  // bits are not compared, as '?' in an expectation).
  std::vector<Result> allowed;
  // Short reasons, derived from the program (ExplainBit): the message is
  // "FAIL: page P: NAME is K after AFTER (expected V: BECAUSE)".
  std::string after;    // "a write at step 5"
  std::string because;  // "written since clear_refs at step 3"
  // ... or, for an `inconsistent` finding, the check of the kernel against
  // itself the C redoes after the step (fuzz/repro_consistency.h): "mask",
  // "huge" (the VMA [vma_start, vma_end)), "split" or a pagemap field (at
  // `page`); `because` says the rule.
  std::string consistency;
  uint32_t vma_start = 0, vma_end = 0;
};

struct ReproSpec {
  std::string title;               // first comment line: the DIVERGENCE line
  std::vector<std::string> notes;  // more comment lines (the program's file, kernel, reliability)
  std::vector<ReproCheck> checks;  // the first that fails ends the run
  int timeout_s = 10;              // a step still running then: FAIL (hang)
  // A model mutant's (--model-mutant NAME): the first line says it is a
  // self-test, not a kernel bug.
  std::string self_test;
  // The PAGEMAP_SCAN categories the kernel it ran on accepts (KernelFeatures
  // scan_categories), which a scan without ret= asks for, as the executor's
  // did; 0: the C asks the kernel it runs on.
  uint32_t scan_categories = 0;
};

// The reproducer's C source for `prog`.
std::string WriteReproC(const Program& prog, const ReproSpec& spec);

// Checks from a divergence: the diverging pagemap bit (when the model allowed
// only one answer), else every whole result the contract allows (quirks not).
ReproCheck CheckFromDivergence(const Program& prog, const Divergence& d);
// The contract's check of a divergence's step alone (what
// CheckFromDivergence gives but for an inconsistent finding's relation).
ReproCheck ContractCheck(const Program& prog, const Divergence& d);
// The model's contract for op `op_index` (for a program that passes).
ReproCheck CheckFromPrediction(const Program& prog, size_t op_index, const Prediction& pred);
// One check per "=> RESULT" of the program.
std::vector<ReproCheck> ChecksFromExpectations(const Program& prog);
// What a judgement calls for: its divergence, its failed expectation
// ("EXPECTATION op=N"), else (a pass) every expectation of the program. A
// splat or hang has nothing to check: the run itself is the reproducer.
ReproSpec SpecForJudgement(const Program& prog, const Judgement& j);

// What the model of `profile` requires of op `index` (for --op N, and the
// contract's check beside a mutant's), having followed the kernel's answers
// in `trace` to the ops before it. False with `err` when the model does not
// model an op up to it.
bool PredictionAt(const Program& prog, const Trace& trace, const KernelProfile& profile, size_t index,
                  Prediction* out, std::string* err);

// Why op `op_index` must see `bit` == `value` on `page`, from the program's
// earlier ops in the history of that op's process: `after` names the last op
// that touched the page ("a write at step 5"), `because` the reason
// ("written since clear_refs at step 3"). Falls back to "the model requires V".
struct Explanation {
  std::string after;
  std::string because;
  size_t cause_op = SIZE_MAX;  // the op the reason names, when one does
};
Explanation ExplainBit(const Program& prog, size_t op_index, uint32_t page, char bit, bool value);
// The reason for a whole result (a read's byte: the write that stored it), or "".
Explanation ExplainResult(const Program& prog, size_t op_index, const Result& expected);

// "soft-dirty", "uffd-wp", "present", "swapped", "file/shared-anon",
// "exclusively mapped", "guard region"; and its pagemap bit number.
std::string PagemapBitName(char letter);
int PagemapBitNumber(char letter);
// The first pagemap bit where `observed` differs from `expected` outside its
// `either` bits, in the checker's order (D W P S F X G); false when none.
bool FirstPagemapDifference(const Result& expected, const Result& observed, size_t* index, char* letter);

// The system call(s) a step makes, as C: "mmap(0x100000000000, 16384,
// PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_FIXED_NOREPLACE|MAP_ANONYMOUS, -1, 0)".
std::string SyscallText(const Op& op, size_t index);

}  // namespace mmdiff
