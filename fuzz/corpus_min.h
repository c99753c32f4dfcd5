// Corpus minimization (`mmdiff fuzz --minimize-corpus`), like afl-cmin or
// libFuzzer's -merge=1: the smallest set of corpus programs that keeps the
// model-state coverage (fuzz/coverage.h) of the whole corpus.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "model/profile.h"
#include "target/pool.h"

namespace mmdiff {

// Greedy set cover: indices of the programs to keep, each step the one that
// adds the most features not yet covered (ties: fewer ops, then the lower
// index). The union of the kept programs' features is the union of all.
std::vector<size_t> GreedyCover(const std::vector<std::vector<uint64_t>>& features, const std::vector<size_t>& ops);

struct CorpusMinStats {
  size_t before = 0;      // programs in DIR/corpus
  size_t after = 0;       // programs left there
  size_t features = 0;    // model-state features of the corpus, all kept
  size_t unmeasured = 0;  // kept without a coverage measurement (see below)
};

// Runs every program of `out_dir`/corpus once on the pool, keeps a greedy
// cover and moves the others to `out_dir`/corpus.removed/ (nothing is
// deleted). Programs without a passing run (unparsable, needing a feature
// the kernel lacks, diverging, unmodelled) cannot be measured and are kept.
// Takes the directory's campaign lock; false with `err` when it is held.
bool MinimizeCorpusDir(const std::string& out_dir, TargetPool* pool, const KernelProfile& profile,
                       CorpusMinStats* stats, std::string* err);

}  // namespace mmdiff
