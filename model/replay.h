// One walk of a program through the model: for each op the model's
// prediction, then Apply of the answer the walk follows — a kernel's trace,
// or without one the contract's own answer. The checker, the coverage of a
// campaign, the reports, the reproducer and the mutators' walk to an op all
// walk this way; a visitor sees each step, so a campaign exec judges and
// measures coverage on one walk. (The generator and the mutators' repair
// build a new program op by op with Model::Advance, the same step.)
#pragma once

#include <cstddef>
#include <string>

#include "model/model.h"
#include "model/profile.h"
#include "prog/program.h"
#include "prog/result.h"

namespace mmdiff {

struct ReplayStep {
  size_t index;
  const Op& op;
  const Prediction& pred;  // what the model allowed, before the op
  const Result& observed;  // the answer the walk follows
};

class ReplayVisitor {
 public:
  virtual ~ReplayVisitor() = default;
  // Whether op `s.op` takes part at all; false: the walk passes over it, the
  // model unchanged (a walk that edits a program: the op's process is gone).
  virtual bool Runs(const Op& /*op*/) { return true; }
  // Whether an op the model does not model is passed over (true) or ends
  // the walk (false: what a judgement needs).
  virtual bool SkipsUnmodelled() const { return false; }
  // The model before the op. False stops the walk there (the op is not applied).
  virtual bool Before(const Model& /*m*/, const ReplayStep& /*s*/) { return true; }
  // The model after Apply(observed).
  virtual void After(const Model& /*m*/, const ReplayStep& /*s*/) {}
};

struct ReplayEnd {
  enum class Why : uint8_t {
    kEnd,         // every op (up to `end`) walked
    kNoAnswer,    // the trace has no answer for op `at` (an earlier op hung or its process died)
    kUnmodelled,  // the model does not model op `at` (`note`)
    kVisitor,     // a visitor stopped before op `at`
  };
  Why why = Why::kEnd;
  size_t at = 0;
  std::string note;
};

// What the walk does where the trace has no answer for an op.
enum class ReplayMissing : uint8_t {
  kStop,      // the op did not run: stop (an ok for `requires` and `exit`)
  kContract,  // follow the contract there (a partial trace, or none)
};

// Walks ops [0, end) of `prog`. `trace` null: follows the contract (the
// prediction without what quirks allow) everywhere. `model` (optional) is
// the model the walk runs on, left where it stopped.
ReplayEnd Replay(const Program& prog, const Trace* trace, const KernelProfile& profile, ReplayVisitor* visitor,
                 size_t end = SIZE_MAX, Model* model = nullptr, ReplayMissing missing = ReplayMissing::kStop);

// Visitors in turn: Before stops the walk when any of them says stop.
class ReplayVisitors : public ReplayVisitor {
 public:
  ReplayVisitors(ReplayVisitor* a, ReplayVisitor* b) : a_(a), b_(b) {}
  bool Runs(const Op& op) override { return (!a_ || a_->Runs(op)) && (!b_ || b_->Runs(op)); }
  bool SkipsUnmodelled() const override {
    return (!a_ || a_->SkipsUnmodelled()) && (!b_ || b_->SkipsUnmodelled());
  }
  bool Before(const Model& m, const ReplayStep& s) override {
    return (!a_ || a_->Before(m, s)) && (!b_ || b_->Before(m, s));
  }
  void After(const Model& m, const ReplayStep& s) override {
    if (a_) a_->After(m, s);
    if (b_) b_->After(m, s);
  }

 private:
  ReplayVisitor* a_;
  ReplayVisitor* b_;
};

}  // namespace mmdiff
