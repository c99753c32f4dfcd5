// The text of a linux-mm bug report for one failing program: a subject line,
// the kernel and its probed features, what the documentation promises (the
// sentence, quoted, and its file), what the kernel did instead and what the
// model required, the steps as .mmp lines with the system call each makes
// and the kernel's answer, the address space before and after the diverging
// step (model/picture.h), and the C reproducer (fuzz/repro.h) inline.
#pragma once

#include <string>
#include <vector>

#include "model/judge.h"
#include "model/profile.h"
#include "prog/features.h"
#include "prog/program.h"
#include "prog/result.h"

namespace mmdiff {

struct ReportInput {
  Program prog;              // normally minimized (fuzz/minimize.h)
  Trace trace;               // the kernel's answers to it
  Judgement judgement;       // JudgeKernelRun(prog, trace, profile)
  KernelFeatures features;   // the target's probe (release, feature list)
  KernelProfile profile;
  int reproduced = 0;        // reliability: failing runs of `runs`; runs 0: unknown
  int runs = 0;
};

// The whole report, plain text, ready to paste into a mail.
std::string WriteReport(const ReportInput& in);

// "mm: soft-dirty bit lost after mprotect (anon-private)".
std::string ReportSubject(const Program& prog, const Judgement& j);

// The documentation sentences that define the expected value (file, text),
// chosen from a small table by the divergence class, the pagemap bit and
// the reason; empty when none of soft-dirty.rst, pagemap.rst and
// userfaultfd.rst covers it.
struct DocQuote {
  std::string file;  // "Documentation/admin-guide/mm/soft-dirty.rst"
  std::string text;
};
std::vector<DocQuote> DocumentationFor(const Program& prog, const Judgement& j);

// The model's pictures of the op's process around op `op_index`: before it
// (the model having followed the kernel's answers up to there) and after it
// (as the contract expects). False when the trace does not reach the op.
bool PicturesAround(const Program& prog, const Trace& trace, const KernelProfile& profile, size_t op_index,
                    std::string* before, std::string* after);

}  // namespace mmdiff
