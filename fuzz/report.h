// The text of a linux-mm bug report for one failing program, about the size
// of a mail (at most 120 lines with the C for a program of up to 9 steps): a
// subject in the list's style, the kernel release, architecture and the
// config options that matter, what the documentation promises (the check
// and its sentence, quoted), what the kernel did instead, the cause (the
// step the model saw change the diverged pages last), the steps with the
// kernel's answers, one picture of only those pages before and after the
// cause (model/picture.h), and the C reproducer (fuzz/repro.h) inline.
#pragma once

#include <string>
#include <vector>

#include "model/judge.h"
#include "model/profile.h"
#include "prog/features.h"
#include "prog/op_traits.h"
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

// "mm/mprotect: soft-dirty lost when mprotect() changes a neighbouring VMA
// (anon-private)": the subsystem and clause of step `cause`, the one the
// model saw change the diverged pages last, or, when that is a load or a
// store, of `prev`, the change before it ("mm/userfaultfd: soft-dirty lost
// on a store after UFFDIO_UNREGISTER"). SIZE_MAX: unknown.
std::string ReportSubject(const Program& prog, const Judgement& j, size_t cause, size_t prev);
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
// `only`: these pages, else the op's range and its VMAs, mail-wide.
bool PicturesAround(const Program& prog, const Trace& trace, const KernelProfile& profile, size_t op_index,
                    std::string* before, std::string* after, const PageRange* only = nullptr);

}  // namespace mmdiff
