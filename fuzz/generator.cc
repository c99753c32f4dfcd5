// The generator. One Builder per program: a Drafter (draft.h) drafts an op
// (kind, process, arguments) from the model's state, the Builder asks the
// model whether it models it, and if so applies it and moves on. Plans queue
// the follow-up ops that make a scenario meaningful (memfd before its mmap,
// register and write-protect after uffd_open, nohugepage after an anonymous
// mmap).
//
// Probabilities are integer weights and odds (no floating point), so the
// drafting is exact on every machine.
#include "fuzz/generator.h"

#include <algorithm>
#include <optional>
#include <vector>

#include "fuzz/draft.h"
#include "fuzz/rng.h"
#include "model/model.h"
#include "prog/op_table.h"

namespace mmdiff {
namespace {

// Drafts per program op before giving up on an op (and padding).
constexpr int kMaxDraftsPerOp = 16;

class Builder {
 public:
  Builder(const GeneratorOptions& opts, uint64_t seed, GeneratorStats* stats)
      : opts_(opts), rng_(seed), model_(opts.profile), drafter_(opts.profile, &rng_, &model_), stats_(stats) {}

  Program Run();

 private:
  // Applies `op` to the model (the predicted result as the kernel's answer)
  // and appends it; Commit appends an op already applied.
  void Add(const Op& op);  // an op always modelled (requires, pagemap)
  void Commit(const Op& op, const Result& result);

  const GeneratorOptions& opts_;
  Rng rng_;
  Model model_;
  Drafter drafter_;
  GeneratorStats* stats_;
  Program prog_;
};

// --- the program loop -------------------------------------------------------

Program Builder::Run() {
  int target = static_cast<int>(rng_.Between(opts_.min_ops, opts_.max_ops));
  if (rng_.OneIn(4)) {
    Op op;
    op.kind = OpKind::kRequires;
    drafter_.FillFromTable(&op);
    if (op.required_features) Add(op);
  }
  int drafts = 0;
  while (static_cast<int>(prog_.ops.size()) < target && drafts < target * kMaxDraftsPerOp) {
    drafts++;
    Op op;
    if (!drafter_.Draft(&op)) continue;
    stats_->candidates++;
    Prediction pred = model_.Advance(op, prog_.ops.size());
    if (!pred.unmodelled.empty()) {
      stats_->dropped_unmodelled++;
      continue;
    }
    Commit(op, pred.expected);
  }
  // Should drafting stall, pagemap ops (always modelled) reach min_ops.
  bool padded = false;
  while (static_cast<int>(prog_.ops.size()) < opts_.min_ops) {
    Op op;
    op.kind = OpKind::kPagemap;
    op.proc = static_cast<uint8_t>(drafter_.PickProc());
    op.page = 0;
    op.npages = 1;
    Add(op);
    padded = true;
  }
  stats_->padded += padded;
  stats_->programs++;
  stats_->ops += prog_.ops.size();
  return std::move(prog_);
}

void Builder::Add(const Op& op) { Commit(op, model_.Advance(op, prog_.ops.size()).expected); }

void Builder::Commit(const Op& op, const Result& result) {
  prog_.Add(op);
  drafter_.AfterAdd(op, result);
}

}  // namespace

Generator::Generator(GeneratorOptions options) : opts_(std::move(options)) {
  opts_.min_ops = std::clamp(opts_.min_ops, 1, static_cast<int>(kMaxOps));
  opts_.max_ops = std::clamp(opts_.max_ops, opts_.min_ops, static_cast<int>(kMaxOps));
}

Program Generator::Next() { return Generate(next_++); }

Program Generator::Generate(uint64_t index) {
  uint64_t seed = SplitMix64(opts_.seed ^ SplitMix64(index));
  Builder b(opts_, seed, &stats_);
  return b.Run();
}

}  // namespace mmdiff
