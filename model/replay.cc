#include "model/replay.h"

#include <algorithm>

namespace mmdiff {

ReplayEnd Replay(const Program& prog, const Trace* trace, const KernelProfile& profile, ReplayVisitor* visitor,
                 size_t end, Model* model, ReplayMissing missing) {
  Model local(profile);
  Model& m = model ? *model : local;
  ReplayEnd out;
  end = std::min(end, prog.ops.size());
  for (size_t i = 0; i < end; i++) {
    const Op& op = prog.ops[i];
    // khugepaged-may-collapse: the collapse a checker's walk places here.
    if (const auto& c = m.profile().collapse; c.before_op == i) m.CollapseHugePage(c.proc, c.slot);
    if (visitor && !visitor->Runs(op)) continue;
    Result observed;
    bool contract = !trace;
    if (trace) {
      if (i < trace->results.size()) observed = trace->results[i];
      if (observed.kind == ResultKind::kNone) {
        if (missing == ReplayMissing::kContract) {
          contract = true;
        } else if (op.kind == OpKind::kRequires || op.kind == OpKind::kExit) {
          observed.kind = ResultKind::kOk;  // they may come back without an answer
        } else {
          return {ReplayEnd::Why::kNoAnswer, i, ""};  // the op did not run
        }
      }
    }
    // One walk of the rules per op: the prediction is the op applied to a
    // copy; where no rule chose by the answer, that copy is the next state.
    Model after = m;
    bool chose = false;
    Prediction pred = m.PredictInto(after, op, i, &chose);
    if (!pred.unmodelled.empty()) {
      if (visitor && visitor->SkipsUnmodelled()) continue;
      return {ReplayEnd::Why::kUnmodelled, i, pred.unmodelled};
    }
    if (contract) observed = WithoutQuirks(pred).expected;
    ReplayStep step{i, op, pred, observed};
    if (visitor && !visitor->Before(m, step)) return {ReplayEnd::Why::kVisitor, i, ""};
    if (chose) m.Apply(op, i, observed);
    else m = std::move(after);
    if (visitor) visitor->After(m, step);
  }
  out.at = end;
  return out;
}

}  // namespace mmdiff
