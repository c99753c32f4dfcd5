#include "fuzz/record.h"

#include <fstream>

#include "fuzz/minimize.h"
#include "fuzz/report.h"
#include "fuzz/repro.h"
#include "fuzz/root_cause.h"
#include "model/judge.h"
#include "model/mutant.h"
#include "prog/text.h"

namespace mmdiff {

RecordOutcome ConfirmAndRecord(FindingStore* store, const Program& prog, const Trace& trace, const Judgement& j,
                               int confirm_runs, const std::function<bool(Trace*, Judgement*)>& again,
                               int reproduced, int runs) {
  std::string signature = store->SignatureOf(j);
  while (runs < confirm_runs) {
    Trace t;
    Judgement j2;
    if (!again(&t, &j2)) break;
    runs++;
    if (j2.kind == Judgement::Kind::kFail && store->SignatureOf(j2) == signature) reproduced++;
  }
  RecordOutcome out;
  out.reproduced = reproduced;
  out.runs = runs;
  out.confirmed = reproduced == runs;
  out.fresh = store->Record(prog, trace, j, reproduced, runs);
  out.name = FindingName(signature, FindingClass(j));
  return out;
}

namespace {

// The ops of a minimized program on disk (its comment lines and `requires`
// aside); SIZE_MAX when there is none.
size_t OpsIn(const std::string& path) {
  std::ifstream in(path);
  if (!in) return SIZE_MAX;
  size_t n = 0;
  for (std::string line; std::getline(in, line);) n += !line.empty() && line[0] != '#' && line.rfind("requires", 0) != 0;
  return n;
}

}  // namespace

std::string SelfTestLabel(const KernelProfile& profile) {
  if (profile.mutant == Mutant::kNone) return "";
  return "model mutant " + std::string(MutantName(profile.mutant)) +
         ": a self-test finding of a model broken on purpose, not a kernel bug";
}

bool MinimizeFinding(FindingStore* store, const std::string& dir, const Program& prog, Target* target,
                     const KernelProfile& profile, std::atomic<bool>* stop, std::string* summary, std::string* err) {
  MinimizeStats stats;
  TargetMinimizeResult r;
  if (!MinimizeOnTarget(prog, target, profile, {}, &stats, stop, &r, err)) return false;
  std::string label = SelfTestLabel(profile);
  std::string min = (label.empty() ? "" : "# " + label + "\n") + "# " + r.judgement.line + "\n# reproduced " +
                    std::to_string(r.reproduced) + "/" + std::to_string(r.runs) + "\n" + PrintProgram(r.program);
  ReportInput in{r.program, r.trace, r.judgement, {}, profile, r.reproduced, r.runs};
  std::string probe_err;
  target->Probe(&in.features, &probe_err);
  ReproSpec spec = SpecForJudgement(r.program, r.judgement);
  if (profile.mutant != Mutant::kNone) spec.self_test = MutantName(profile.mutant);
  spec.scan_categories = in.features.scan_categories;
  std::string repro = WriteReproC(r.program, spec);
  std::string report = WriteReport(in);
  auto write = [&](const std::string& to) {
    WriteFileAtomically(to + "/min.mmp", min);
    WriteFileAtomically(to + "/repro.c", repro);
    WriteFileAtomically(to + "/report.txt", report);
  };
  write(dir);
  *summary = dir.substr(dir.rfind('/') + 1) + " to " + std::to_string(r.program.ops.size()) + " ops (reproduced " +
             std::to_string(r.reproduced) + "/" + std::to_string(r.runs) + ")";
  // The same root cause seen through another observation is the finding
  // already recorded; it shows the shorter of the two minimized programs.
  // The finding's own signature: the minimizer may have moved the divergence
  // to a simpler observer (a pagemap read), whose signature can be another
  // finding's.
  std::string name = dir.substr(0, dir.find_last_not_of('/') + 1);
  std::string signature = store->SignatureNamed(name.substr(name.rfind('/') + 1));
  if (signature.empty()) signature = store->SignatureOf(r.judgement);
  std::string kept = store->Fold(signature, FoldKey(r.program, r.judgement, target, profile));
  if (kept != signature) {
    std::string to = store->dir() + "/findings/" + store->NameOf(kept);
    *summary += ", folded into " + store->NameOf(kept) + " (same root cause)";
    if (r.program.ops.size() < OpsIn(to + "/min.mmp")) write(to);
  }
  return true;
}

bool FoldUnminimized(FindingStore* store, const Program& prog, Target* target, const KernelProfile& profile,
                     std::string* summary) {
  Trace trace;
  std::string err;
  if (!target->Run(prog, &trace, &err)) return false;
  Judgement j = JudgeKernelRun(prog, trace, profile);
  if (j.kind != Judgement::Kind::kFail) return false;
  std::string signature = store->SignatureOf(j), name = store->NameOf(signature);
  if (name.empty()) return false;  // it failed another way this time
  std::string kept = store->Fold(signature, FoldKey(prog, j, target, profile));
  if (kept == signature) return false;
  *summary = name + " folded into " + store->NameOf(kept) + " (same root cause, not minimized)";
  return true;
}

}  // namespace mmdiff
