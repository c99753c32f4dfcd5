#include "fuzz/corpus_min.h"

#include <dirent.h>
#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <queue>
#include <unordered_set>

#include "fuzz/coverage.h"
#include "fuzz/out_lock.h"
#include "model/judge.h"
#include "prog/text.h"

namespace mmdiff {

std::vector<size_t> GreedyCover(const std::vector<std::vector<uint64_t>>& features, const std::vector<size_t>& ops) {
  // Lazy greedy: a program's gain only shrinks as others are kept, so a
  // stale gain at the top of the heap is recomputed and pushed back.
  struct Entry {
    size_t gain, ops, index;
    bool operator<(const Entry& o) const {
      if (gain != o.gain) return gain < o.gain;
      if (ops != o.ops) return ops > o.ops;
      return index > o.index;
    }
  };
  std::vector<std::vector<uint64_t>> sets(features.size());
  std::priority_queue<Entry> heap;
  for (size_t i = 0; i < features.size(); i++) {
    sets[i] = features[i];
    std::sort(sets[i].begin(), sets[i].end());
    sets[i].erase(std::unique(sets[i].begin(), sets[i].end()), sets[i].end());
    if (!sets[i].empty()) heap.push({sets[i].size(), ops[i], i});
  }
  std::unordered_set<uint64_t> covered;
  std::vector<size_t> keep;
  while (!heap.empty()) {
    Entry top = heap.top();
    heap.pop();
    size_t gain = 0;
    for (uint64_t f : sets[top.index]) gain += !covered.count(f);
    if (gain == 0) continue;
    if (gain < top.gain) {
      heap.push({gain, top.ops, top.index});
      continue;
    }
    keep.push_back(top.index);
    covered.insert(sets[top.index].begin(), sets[top.index].end());
  }
  std::sort(keep.begin(), keep.end());
  return keep;
}

bool MinimizeCorpusDir(const std::string& out_dir, TargetPool* pool, const KernelProfile& profile,
                       CorpusMinStats* stats, std::string* err) {
  OutDirLock lock;
  if (!lock.Acquire(out_dir, err)) return false;
  std::string corpus = out_dir + "/corpus", removed = out_dir + "/corpus.removed";
  std::vector<std::string> names;
  DIR* d = opendir(corpus.c_str());
  if (!d) {
    *err = "cannot read " + corpus + ": " + strerror(errno);
    return false;
  }
  while (dirent* e = readdir(d)) {
    std::string n = e->d_name;
    if (n.size() > 4 && n.compare(n.size() - 4, 4, ".mmp") == 0) names.push_back(n);
  }
  closedir(d);
  std::sort(names.begin(), names.end());
  std::vector<Program> progs(names.size());
  std::vector<bool> parsed(names.size());
  for (size_t i = 0; i < names.size(); i++) {
    TextError te;
    parsed[i] = ParseProgramFile(corpus + "/" + names[i], &progs[i], &te);
  }
  std::vector<std::vector<uint64_t>> features(names.size());
  std::vector<bool> measured(names.size());
  pool->RunAll(
      names.size(),
      [&](size_t i) { return parsed[i] && !(progs[i].Requires() & ~profile.features) ? progs[i] : Program{}; },
      [&](size_t i, const Program& prog, bool ok, const Trace& trace, const std::string&) {
        if (prog.ops.empty() || !ok || JudgeKernelRun(prog, trace, profile).kind != Judgement::Kind::kPass) return;
        features[i] = TraceFeatures(prog, trace, profile);
        measured[i] = !features[i].empty();
      });
  std::vector<size_t> ops(names.size());
  for (size_t i = 0; i < names.size(); i++) ops[i] = progs[i].ops.size();
  std::vector<bool> keep(names.size());
  for (size_t i : GreedyCover(features, ops)) keep[i] = true;
  CoverageMap all;
  *stats = CorpusMinStats{};
  stats->before = names.size();
  for (size_t i = 0; i < names.size(); i++) {
    all.Merge(features[i]);
    if (!measured[i]) {
      keep[i] = true;
      stats->unmeasured++;
    }
    if (keep[i]) {
      stats->after++;
      continue;
    }
    if (mkdir(removed.c_str(), 0755) != 0 && errno != EEXIST) {
      *err = "cannot create " + removed + ": " + strerror(errno);
      return false;
    }
    if (rename((corpus + "/" + names[i]).c_str(), (removed + "/" + names[i]).c_str()) != 0) {
      *err = "cannot move " + names[i] + " to " + removed + ": " + strerror(errno);
      return false;
    }
  }
  stats->features = all.size();
  return true;
}

}  // namespace mmdiff
