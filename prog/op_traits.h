// What an op is, read from its row of the op table (prog/op_table.h): the
// pages it names, whether it forks, observes, works on a file slot, may
// shape a THP, the features it names, and which earlier ops make up a
// process's address space. The generator, mutator, minimizer, coverage,
// reproducer and reports ask these instead of switching over OpKind.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "prog/op_table.h"
#include "prog/program.h"

namespace mmdiff {

struct PageRange {
  uint32_t lo = 0, n = 0;
  bool Contains(uint32_t page) const { return page >= lo && page - lo < n; }
};

inline bool HasTrait(OpKind kind, OpTrait trait) { return (GetOpInfo(kind).traits & trait) != 0; }

// The arena ranges the op names (OpPages): none, one page, its range, the
// mremap source and destination, or the whole arena (fork, clear_refs).
std::vector<PageRange> OpRanges(const Op& op);
bool OpNamesPage(const Op& op, uint32_t page);

// Reads state only: pagemap, and a scan without wp_matching (which
// write-protects what it reports).
bool Observes(const Op& op);

// The features an op asks for by name (a `requires` of one of them stays in
// a minimized program even where the model's answer is the same without it).
uint32_t FeaturesNamed(const Op& op);
uint32_t FeaturesNamed(const Program& prog);

// Who forked whom: per process, its parent and the index of that fork.
struct Lineage {
  int parent[kMaxProcs] = {};
  size_t fork_at[kMaxProcs] = {};
};
Lineage LineageOf(const Program& prog);
// Whether op j is part of the history of `proc`'s address space as of op i:
// its own earlier ops, and its ancestors' ops before the forks that led to it.
bool InHistory(const Program& prog, const Lineage& l, size_t j, int proc, size_t i);

}  // namespace mmdiff
