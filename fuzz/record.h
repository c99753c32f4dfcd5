// What happens to a failed judgement once it is seen: re-run to confirm it,
// recorded once per signature (findings.h), and a new confirmed finding
// minimized into min.mmp, repro.c and report.txt. One code path for the
// divergences of `mmdiff fuzz` (campaign.cc) and the engines' crash files
// `mmdiff merge` takes in (engine_crashes.h), so both end in the same
// findings directory under the same signatures.
#pragma once

#include <atomic>
#include <functional>
#include <string>

#include "fuzz/findings.h"
#include "model/judge.h"
#include "model/profile.h"
#include "prog/program.h"
#include "prog/result.h"
#include "target/target.h"

namespace mmdiff {

struct RecordOutcome {
  std::string name;  // the finding's directory name (findings/ or flaky/)
  bool fresh = false;      // the signature is new to the store
  bool confirmed = false;  // reproduced on every run: a finding, not flaky
  int reproduced = 0, runs = 0;
};

// `j`, a failed judgement of `prog` (run giving `trace`), has so far
// reproduced in `reproduced` of `runs` runs. `again` re-runs the program and
// gives the new judgement; it returns false when no more runs may be made
// (stopped, out of --execs). Runs until `confirm_runs`, then records it in
// `store`: reproduced every time, a finding; else flaky.
RecordOutcome ConfirmAndRecord(FindingStore* store, const Program& prog, const Trace& trace, const Judgement& j,
                               int confirm_runs, const std::function<bool(Trace*, Judgement*)>& again,
                               int reproduced = 1, int runs = 1);

// The first line of every artefact of a --model-mutant finding; "" for a
// real one.
std::string SelfTestLabel(const KernelProfile& profile);

// Minimizes `prog`, a confirmed finding in directory `dir`, on `target`
// (MinimizeOnTarget) and writes min.mmp, repro.c and report.txt there, each
// labelled when the model is a mutant. Stops early with the best so far
// once `stop` is set. Then one finding per root cause: when `store` holds
// another finding with the same root cause (fuzz/root_cause.h FoldKey, found
// with one more run on `target`), this one is folded into it
// (FindingStore::Fold). On success `*summary`: "NAME to N ops (reproduced
// R/N)", and ", folded into NAME"; false with `err` when the program no
// longer fails.
bool MinimizeFinding(FindingStore* store, const std::string& dir, const Program& prog, Target* target,
                     const KernelProfile& profile, std::atomic<bool>* stop, std::string* summary, std::string* err);

// A confirmed finding the minimizer had no time for: `prog` runs once more
// on `target`, and where it fails the same way it is folded by its root
// cause like a minimized one (FoldKey on the whole program). True, with
// `*summary` "NAME folded into NAME (same root cause)", when it was.
bool FoldUnminimized(FindingStore* store, const Program& prog, Target* target, const KernelProfile& profile,
                     std::string* summary);

}  // namespace mmdiff
