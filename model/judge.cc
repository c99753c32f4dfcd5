#include "model/judge.h"

#include "prog/text.h"

namespace mmdiff {
namespace {

std::string Quote(const Op& op) { return "\"" + PrintOp(op) + "\""; }

std::string FirstLine(const std::string& s) { return s.substr(0, s.find('\n')); }

// Whether the model's prediction is at least as exact as the expectation and
// agrees with it.
std::optional<std::string> ModelDisagrees(const Op& op, const Result& expected, const Result& predicted) {
  if (auto m = ExpectationMismatch(op, expected, predicted)) return m;
  if (expected.kind == ResultKind::kPagemap) {
    for (size_t i = 0; i < predicted.either.size() && i < expected.pagemap.size(); i++) {
      uint64_t exact = kPmShownBits & ~(i < expected.either.size() ? expected.either[i] : 0);
      if (predicted.either[i] & exact)
        return "page=" + std::to_string(op.page + i) + " model allows either where the expectation is exact";
    }
  }
  return std::nullopt;
}

Judgement Fail(std::string line, std::string detail, Verdict v = {}) {
  return {Judgement::Kind::kFail, std::move(line), std::move(detail), std::move(v)};
}

}  // namespace

Judgement JudgeKernelRun(const Program& prog, const Trace& kernel, const KernelProfile& profile, ReplayVisitor* also) {
  if (kernel.end == TraceEnd::kKernelSplat)
    return Fail("KERNEL-SPLAT " + FirstLine(kernel.console), kernel.console);
  if (kernel.end == TraceEnd::kGuestHang) return Fail("HANG the guest stopped answering", kernel.console);
  if (kernel.end == TraceEnd::kMemoryLimit) return {Judgement::Kind::kLimit, "LIMIT memory: " + kernel.console, "", {}};
  if (kernel.end == TraceEnd::kTimeLimit) {
    std::string at;
    for (size_t i = 0; i < kernel.results.size() && i < prog.ops.size(); i++)
      if (kernel.results[i].kind == ResultKind::kHang) at = "op " + std::to_string(i) + " " + Quote(prog.ops[i]) + " ";
    return {Judgement::Kind::kLimit, "LIMIT time: " + at + kernel.console, "", {}};
  }
  Verdict v = CheckTrace(prog, kernel, profile, also);
  if (v.status == Verdict::Status::kSkipped) return {Judgement::Kind::kSkip, v.note, "", v};
  // The kernel against the program's own expectations, before the model's
  // verdict: a documented expectation is the stronger statement. Except from
  // the first op whose answer the model allowed only through a known quirk:
  // the expectations document the contract, the kernel has the quirk, and
  // what follows may be its consequence (the model, following the kernel,
  // still checks every answer).
  // An inconsistency goes before the expectations from its op on: the
  // kernel contradicting itself needs neither the documentation nor the model.
  size_t until = kernel.results.size();
  if (v.divergence && v.divergence->cls == DivergenceClass::kInconsistent) until = v.divergence->op_index;
  for (size_t i = 0; i < prog.ops.size() && i < until; i++) {
    const Result& want = prog.expect[i];
    if (want.kind == ResultKind::kNone || kernel.results[i].kind == ResultKind::kNone) continue;
    auto m = ExpectationMismatch(prog.ops[i], want, kernel.results[i]);
    if (!m) continue;
    bool quirk = false;
    for (auto& [op, bits] : v.quirk_ops) quirk |= op <= i;
    if (!quirk)
      return Fail("EXPECTATION op=" + std::to_string(i) + " " + Quote(prog.ops[i]) + " kernel: " + *m, "", v);
  }
  if (v.status == Verdict::Status::kDivergence) return Fail(v.divergence->line, v.divergence->picture, v);
  if (v.status == Verdict::Status::kUnmodelled) return {Judgement::Kind::kSkip, "unmodelled: " + v.note, "", v};
  // The model against the program's own expectations: a second walk, so
  // only for a program that has some (generated ones have none).
  bool expects = false;
  for (const Result& r : prog.expect) expects |= r.kind != ResultKind::kNone;
  if (expects) {
    Judgement model = JudgeModelOnly(prog, profile);
    if (model.kind == Judgement::Kind::kFail) return model;
  }
  std::string line;
  if (uint32_t q = v.QuirksTaken()) line = "known quirk " + QuirkList(q);
  // Reported even when a known quirk explains it (docs/CONTRACT.md §14).
  if (!v.excused.empty()) line += "; " + v.excused.front().line.substr(v.excused.front().line.find(' ') + 1);
  return {Judgement::Kind::kPass, line, "", v};
}

Judgement JudgeModelOnly(const Program& prog, const KernelProfile& profile) {
  if (uint32_t missing = prog.Requires() & ~profile.features)
    return {Judgement::Kind::kSkip, "requires " + FeatureList(missing), "", {}};
  Trace predicted = PredictTrace(prog, profile);
  for (size_t i = 0; i < prog.ops.size(); i++) {
    const Result& want = prog.expect[i];
    if (want.kind == ResultKind::kNone) continue;
    if (predicted.results[i].kind == ResultKind::kNone)
      return {Judgement::Kind::kSkip, "unmodelled at op " + std::to_string(i), "", {}};
    if (auto m = ModelDisagrees(prog.ops[i], want, predicted.results[i]))
      return Fail("EXPECTATION op=" + std::to_string(i) + " " + Quote(prog.ops[i]) + " model: " + *m, "");
  }
  return {Judgement::Kind::kPass, "", "", {}};
}

}  // namespace mmdiff
