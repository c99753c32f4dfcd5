// A fuzzing campaign: programs generated and mutated, run on a pool of
// targets, checked against the model; new model-state coverage keeps a
// program in the corpus, a divergence is confirmed by re-running it and then
// recorded once per signature (findings.h). Everything on disk is written
// atomically, so a campaign stopped by Ctrl-C or a crash resumes from DIR.
//
//   DIR/corpus/HASH.mmp    programs that reached new coverage (resumed)
//   DIR/findings/, flaky/  see findings.h
//   DIR/stats.json         updated with every status line; read back when
//                          a campaign resumes (campaign_state.h)
//   DIR/lock               flock'ed by the campaign using DIR (out_lock.h)
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "fuzz/campaign_state.h"
#include "fuzz/rng.h"
#include "model/profile.h"
#include "prog/program.h"
#include "target/pool.h"

namespace mmdiff {

struct CampaignOptions {
  std::string out_dir = "mmdiff-out";
  uint64_t seed = 0;         // 0: from getrandom (printed, so a run can be repeated)
  double max_seconds = 0;    // 0: until stopped (this run's time)
  uint64_t max_execs = 0;    // 0: no limit; else exactly this many program runs in this run
  int status_every_s = 5;
  int confirm_runs = 3;      // re-runs of a diverging program before it is recorded
  bool until_found = false;  // stop at the first confirmed finding (model-mutant self-tests)
  std::string target_word = "executors";  // the status line's name for targets ("vms")
  std::vector<Program> seeds;  // initial corpus
  // Structure-aware mutation of a corpus program (fuzz/mutator.h); empty:
  // the campaign only generates. Returns false when nothing applied, else
  // which mutator did (`which`), to be credited when the program reaches new
  // coverage. Called from several worker threads.
  std::function<bool(Program*, Rng&, std::span<const Program> corpus, int* which)> mutate;
  std::function<void(int which)> credit;
  std::function<std::string()> mutator_stats_json;  // for stats.json
  // A target of its own for the background minimizer: each new confirmed
  // finding gets min.mmp, repro.c and report.txt. Empty: no minimization.
  std::function<std::unique_ptr<Target>(std::string* err)> minimize_target;
  // Kernel against kernel (model/kernel_compare.h): every program also runs
  // on `second` (a pool of the same size; worker W uses target W of each),
  // judged against `second_profile`; a difference the model allows on
  // neither kernel or only one is the finding kernel-differs, with both
  // traces in its report.txt. The second kernel's own divergences are
  // findings too (not minimized: the minimizer's target is the first's).
  TargetPool* second = nullptr;
  const KernelProfile* second_profile = nullptr;
  std::string first_name, second_name;  // how reports name the two kernels
  // Kernel coverage in a trace (a guest kernel with KCOV) counts as coverage
  // beside the model's (fuzz/coverage.h KcovFeatures); `mmdiff fuzz
  // --no-kcov` turns it off (and the targets do not collect it).
  bool kernel_coverage = true;
};

// Totals over every run on the same --out (a resumed campaign continues them).
struct CampaignStats {
  double elapsed_s = 0;
  uint64_t execs = 0;
  uint64_t corpus = 0;
  uint64_t coverage = 0;
  uint64_t kernel_coverage = 0;  // kernel edges (KCOV) in the map; 0 without KCOV
  uint64_t divergences = 0;  // confirmed hits, all signatures
  uint64_t unique = 0;       // distinct confirmed signatures
  uint64_t flaky = 0;
  uint64_t restarts = 0;     // targets restarted (executor died, guest rebooted)
  int targets = 0;
  int64_t started = 0;           // unix seconds: the first run on this --out
  int64_t last_new_finding = 0;  // unix seconds; 0: none
  CampaignTally tally;           // judged, unmodelled by reason, allowances
  // Divergences of this run (not of the runs it resumed) that reproduced on
  // every confirmation run: `mmdiff fuzz` exits 1 when there is one.
  uint64_t confirmed_this_run = 0;
};

// Runs until `stop` is set or a limit is reached. Prints a status line to
// stderr every options.status_every_s seconds and a summary at the end.
// False with `err` when DIR cannot be used or another campaign holds it.
bool RunCampaign(const CampaignOptions& options, TargetPool* pool, const KernelProfile& profile,
                 const std::atomic<bool>& stop, CampaignStats* out, std::string* err);

// One line; allowances the model granted show as "NAME taken/granted".
std::string StatusLine(const CampaignStats& s, const std::string& target_word);

}  // namespace mmdiff
