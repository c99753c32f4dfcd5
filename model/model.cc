// The model's entry points: Predict/Apply, the op dispatch, and the
// prediction algebra (PredictionAllows, WithoutQuirks). The rules live in
// files named after the kernel files they follow (model/README.md).
#include "model/model.h"
#include "model/result_make.h"

#include <algorithm>
#include <cerrno>

namespace mmdiff {
bool PredictionAllows(const Prediction& pred, const Result& observed, Grants* used) {
  if (ResultMatches(pred.expected, observed)) {
    if (used) {
      // The latitudes whose bits the kernel's answer took.
      for (const Latitude& l : pred.latitudes)
        if (l.index < observed.pagemap.size() && l.index < pred.expected.pagemap.size() &&
            ((observed.pagemap[l.index] ^ pred.expected.pagemap[l.index]) & l.bits & kPmShownBits))
          used->Add(l.grant);
    }
    return true;
  }
  // The alternative needing the fewest quirks (the contract's latitude first).
  const Alternative* best = nullptr;
  for (const Alternative& alt : pred.alternatives)
    if (ResultMatches(alt.result, observed) && (!best || (best->grants.HasQuirk() && !alt.grants.HasQuirk())))
      best = &alt;
  if (!best) return false;
  if (used) used->Add(best->grants);
  return true;
}

Prediction WithoutQuirks(const Prediction& pred) {
  Prediction out = pred;
  std::erase_if(out.latitudes, [](const Latitude& l) { return l.grant.quirk; });
  std::erase_if(out.alternatives, [](const Alternative& a) { return a.grants.HasQuirk(); });
  if (!out.expected.either.empty()) {
    out.expected.either.assign(out.expected.pagemap.size(), 0);
    for (const Latitude& l : out.latitudes) out.expected.either[l.index] |= l.bits;
    bool any = false;
    for (uint64_t e : out.expected.either) any |= e != 0;
    if (!any) out.expected.either.clear();
  }
  return out;
}

Model::Model(KernelProfile profile) : profile_(std::move(profile)) {
  st_.legacy_anon_vma_merge = !profile_.Has(kBehAnonVmaMergeEitherSide);
  st_.mkdirty_sets_soft_dirty = profile_.soft_dirty && profile_.Has(kBehThpSplitDirtiesPtes);
  st_.huge_free = static_cast<uint32_t>(profile_.hugetlb_free);  // HugePages_Free, nothing reserved
}

Prediction Model::Predict(const Op& op, size_t index) const {
  // Prediction is the op applied to a copy of the state: the same rules as
  // Apply, with no answer to follow (where the kernel may choose, the rules
  // take the contract's branch and record the others as alternatives and
  // latitudes).
  Model after = *this;
  bool chose = false;
  return PredictInto(after, op, index, &chose);
}

Prediction Model::PredictInto(Model& after, const Op& op, size_t index, bool* chose) const {
  Prediction pred;
  Step s{op, index, nullptr, &pred};
  pred.expected = after.Exec(s);
  *chose = s.chose;
  if (!pred.latitudes.empty()) {
    pred.expected.either.assign(pred.expected.pagemap.size(), 0);
    for (const Latitude& l : pred.latitudes) pred.expected.either[l.index] |= l.bits;
  }
  return pred;
}

Prediction Model::Advance(const Op& op, size_t index) {
  Model after = *this;
  bool chose = false;
  Prediction pred = PredictInto(after, op, index, &chose);
  if (!pred.unmodelled.empty()) return pred;
  if (chose) Apply(op, index, WithoutQuirks(pred).expected);
  else *this = std::move(after);
  return pred;
}

void Model::Apply(const Op& op, size_t index, const Result& observed) {
  Prediction scratch;
  Step s{op, index, &observed, &scratch};
  Exec(s);
}

Result Model::Exec(Step& s) {
  if (Result r; HugetlbOp(s, &r)) return r;  // model/hugetlb.cc
  switch (s.op.kind) {
    case OpKind::kRequires: return Ok();
    case OpKind::kMmap: return DoMmap(s);
    case OpKind::kMunmap: return DoMunmap(s);
    case OpKind::kMprotect: return DoMprotect(s);
    case OpKind::kMremap: return DoMremap(s);
    case OpKind::kMadvise: return DoMadvise(s);
    case OpKind::kRead: return DoAccess(s, /*write=*/false);
    case OpKind::kWrite: return DoAccess(s, /*write=*/true);
    case OpKind::kFork: return DoFork(s);
    case OpKind::kExit: return DoExit(s);
    case OpKind::kClearRefs: return DoClearRefs(s);
    case OpKind::kMemfd: return DoFileCreate(s);
    case OpKind::kFile: return DoFileCreate(s);
    case OpKind::kFtruncate: return DoFtruncate(s);
    case OpKind::kFwrite: return DoFwrite(s);
    case OpKind::kFpunch: return DoFpunch(s);
    case OpKind::kUffdOpen: return DoUffdOpen(s);
    case OpKind::kUffdRegister: return DoUffdRegister(s, /*reg=*/true);
    case OpKind::kUffdUnregister: return DoUffdRegister(s, /*reg=*/false);
    case OpKind::kUffdWp: return DoUffdWp(s);
    case OpKind::kPagemap: return DoPagemap(s);
    case OpKind::kScan: return DoScan(s);
  }
  // Unreachable (the switch covers every OpKind); not a kernel rule: an op
  // the model would not know.
  return Err(ENOSYS);
}

}  // namespace mmdiff
