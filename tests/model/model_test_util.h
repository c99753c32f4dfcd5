// Helpers for the model tests: run a .mmp program through the model, compare
// each prediction with the program's "=> RESULT" (printed, so '?' must match
// exactly), check the invariants after every step. RunExpecting checks the
// contract's prediction (without what quirks allow) and follows it, as
// PredictTrace does; RunWithQuirks checks the full prediction, quirks' '?'
// included.
#pragma once

#include <gtest/gtest.h>

#include <string>

#include "model/checker.h"
#include "model/invariants.h"
#include "model/model.h"
#include "model/picture.h"
#include "model/profile.h"
#include "prog/text.h"

namespace mmdiff {

// The model's trace of `prog`, as a kernel would answer it: exactly.
inline Trace Predicted(const Program& prog, const KernelProfile& profile) {
  Trace t = PredictTrace(prog, profile);
  for (Result& r : t.results) r.either.clear();
  return t;
}

// `p` with the known quirk `q` off: its result is a divergence again.
inline KernelProfile WithoutQuirk(KernelProfile p, Quirk q) {
  p.quirks.bits &= ~(1u << static_cast<int>(q));
  return p;
}

inline Program MustParse(const std::string& text) {
  Program prog;
  TextError err;
  EXPECT_TRUE(ParseProgram(text, "test.mmp", &prog, &err)) << err.ToString();
  return prog;
}

// Runs `text` on a fresh model; returns the model after the last op.
inline Model RunExpecting(const KernelProfile& profile, const std::string& text, bool with_quirks = false) {
  Program prog = MustParse(text);
  Model m(profile);
  for (size_t i = 0; i < prog.ops.size(); i++) {
    const Op& op = prog.ops[i];
    Prediction pred = m.Predict(op, i);
    if (!with_quirks) pred = WithoutQuirks(pred);
    EXPECT_TRUE(pred.unmodelled.empty()) << "op " << i << " " << PrintOp(op) << ": " << pred.unmodelled;
    if (prog.expect[i].kind != ResultKind::kNone) {
      EXPECT_EQ(PrintResult(op, pred.expected), PrintResult(op, prog.expect[i]))
          << "line " << prog.lines[i] << ": " << PrintOp(op) << "\n"
          << DrawAddressSpace(m, op.proc, 0, 24);
    }
    m.Apply(op, i, pred.expected);
    auto bad = CheckInvariants(m);
    EXPECT_FALSE(bad.has_value()) << "after line " << prog.lines[i] << " " << PrintOp(op) << ": " << *bad;
    if (bad) break;
  }
  return m;
}

// A row of the table-driven model tests (model_test.cc, model_more_test.cc):
// a program whose observing ops carry the result the model must predict.
struct ModelRow {
  const char* name;
  char profile;  // 'H' host 6.18, 'G' guest 6.1
  const char* program;
};
inline void RunModelRow(const ModelRow& c) {
  RunExpecting(c.profile == 'G' ? GuestProfile61() : HostProfile618(), c.program);
}
inline std::string ModelRowName(const ::testing::TestParamInfo<ModelRow>& info) { return info.param.name; }

// Advances `m` through ops [0, end) of `prog` on the contract's answers,
// numbering them from `first` (Model::Advance).
inline void AdvanceTo(Model& m, const Program& prog, size_t end, size_t first = 0) {
  for (size_t i = 0; i < end; i++) m.Advance(prog.ops[i], first + i);
}

inline Model RunWithQuirks(const KernelProfile& profile, const std::string& text) {
  return RunExpecting(profile, text, /*with_quirks=*/true);
}

}  // namespace mmdiff
