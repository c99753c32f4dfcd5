// The libFuzzer and AFL++ engines' crash files as findings: what `mmdiff
// merge` does with an engine's directory. Each crash file is decoded as the
// harness decodes it (engine_input.h), re-run on a target to confirm it,
// and recorded under the same signature as a `mmdiff fuzz` finding, through
// the campaign's own confirmation, recording and minimization (record.h).
#pragma once

#include <atomic>
#include <cstddef>
#include <string>
#include <vector>

#include "fuzz/findings.h"
#include "model/profile.h"
#include "target/target.h"

namespace mmdiff {

// A `mmdiff fuzz` campaign directory: it has findings/.
bool IsCampaignDir(const std::string& dir);

// The crash files of an engine's directory, sorted: libFuzzer's artifacts
// (DIR/crash-*, leak-*, timeout-*, as -artifact_prefix=DIR/ writes them),
// an AFL++ sync or output directory (DIR/NAME/crashes/id:*, and
// DIR/NAME/hangs/id:*) or one AFL++ instance's (DIR/crashes/id:*,
// DIR/hangs/id:*). False with `err` when `dir` is not a directory.
bool EngineCrashFiles(const std::string& dir, std::vector<std::string>* files, std::string* err);

struct CrashIntakeOptions {
  int confirm_runs = 3;  // runs of each crash file, as a campaign confirms
  bool minimize = true;  // a new confirmed finding gets min.mmp, repro.c, report.txt
  std::atomic<bool>* stop = nullptr;  // Ctrl-C: no more files, the minimizer keeps its best
};

struct CrashIntakeStats {
  size_t files = 0;
  size_t undecodable = 0;     // not a program the model models (on this target's profile)
  size_t not_reproduced = 0;  // passed on every run here
  size_t target_errors = 0;   // the target failed on every run
  size_t recorded = 0;        // filed as a hit of a finding (new or not) or flaky
  size_t new_findings = 0;    // signatures new to the store, confirmed
  size_t new_flaky = 0;
};

// Each of `files` decoded for `profile`, run on `target` until it fails (at
// most options.confirm_runs runs), then confirmed and recorded in `store`
// (ConfirmAndRecord), a new confirmed finding minimized there. One line per
// file on stdout: FILE, then where it went.
void TakeInEngineCrashes(const std::vector<std::string>& files, FindingStore* store, Target* target,
                         const KernelProfile& profile, const CrashIntakeOptions& options, CrashIntakeStats* stats);

}  // namespace mmdiff
