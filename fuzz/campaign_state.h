// What a campaign judged and how far it got, kept in DIR/stats.json so a
// campaign resumed on the same --out continues its counts.
//
// Times in stats.json are ISO 8601 UTC ("2026-12-06T21:20:00Z").
#pragma once

#include <cstdint>
#include <map>
#include <string>

#include "model/allowance.h"
#include "model/judge.h"

namespace mmdiff {

// Programs the model judged (a pass or a failure), programs skipped because
// the model does not model them (by the model's reason), and how often each
// allowance was granted and taken in judged programs.
struct CampaignTally {
  uint64_t judged = 0;
  std::map<std::string, uint64_t> unmodelled;  // reason -> programs
  uint64_t limits = 0;  // programs that hit the memory cap or the time bound
  // The consistency oracle (model/consistency.h), in judged and unmodelled
  // programs alike: comparisons made, and not applicable.
  uint64_t consistency_checks = 0;
  uint64_t consistency_skipped = 0;
  uint64_t consistency_excused = 0;  // inconsistencies a known quirk explains
  // Among consistency_checks, those of each kind (the rest: pagemap-vs-scan).
  uint64_t consistency_split = 0, consistency_huge = 0, consistency_mask = 0;
  // Kernel against kernel (model/kernel_compare.h), in a campaign on two:
  // programs compared (the same answers, or a difference judged), not
  // comparable (a run that did not complete, or a difference where the model
  // does not judge one kernel), and differences the model allows on both.
  uint64_t kernel_compare_checks = 0;
  uint64_t kernel_compare_skipped = 0;
  uint64_t kernel_compare_explained = 0;
  uint64_t granted[kNumAllowances] = {};
  uint64_t taken[kNumAllowances] = {};

  void Add(const Judgement& j);
  uint64_t unmodelled_total() const;
  // `"judged": N, "limits": N, "consistency_checks": N,
  // "consistency_skipped": N, "consistency_excused": N,
  // "consistency_split_checks": N, "consistency_huge_checks": N,
  // "consistency_mask_checks": N, "kernel_compare_checks": N,
  // "kernel_compare_skipped": N, "kernel_compare_explained": N,
  // "unmodelled": {...}, "allowances": {...}` for stats.json,
  // each on its own line indented by two.
  std::string Json() const;
};

// The reason of a skip without the op it was found at: "populate of a
// THP-eligible range" for `unmodelled: op 3 "madvise ...": populate of ...`.
std::string UnmodelledReason(const Judgement& j);

// The counters a resumed campaign continues from.
struct CampaignHistory {
  double elapsed_s = 0;
  uint64_t execs = 0;
  uint64_t restarts = 0;
  int64_t started = 0;           // unix seconds of the first run on this --out
  int64_t last_new_finding = 0;  // unix seconds; 0: none yet
  CampaignTally tally;
};

// Reads what WriteStatsJson wrote. False when the file is missing or is not
// a campaign's stats.json (a fresh campaign then starts from zero).
bool ReadCampaignHistory(const std::string& path, CampaignHistory* out);

std::string IsoTimeUtc(int64_t unix_seconds);
// 0 when `s` is not "YYYY-MM-DDTHH:MM:SSZ".
int64_t ParseIsoTimeUtc(const std::string& s);

}  // namespace mmdiff
