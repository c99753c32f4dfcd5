// Kernel against kernel on hand-made traces: a difference both models allow
// is explained, one only one model allows is kernel-differs naming both
// kernels, one where a model stopped is skipped unless the two profiles are
// the same model.
#include <gtest/gtest.h>

#include "model/kernel_compare.h"
#include "model_test_util.h"

namespace mmdiff {
namespace {

Trace OkTrace(const Program& prog) {
  Trace t;
  t.results.resize(prog.ops.size(), Result{.kind = ResultKind::kOk});
  return t;
}

KernelComparison Compare(const Program& prog, const KernelProfile& pa, const Trace& ta, const KernelProfile& pb,
                         const Trace& tb) {
  static Judgement ja, jb;
  ja = JudgeKernelRun(prog, ta, pa);
  jb = JudgeKernelRun(prog, tb, pb);
  return CompareKernels(prog, KernelRun{"host", &pa, &ta, &ja}, KernelRun{"guest 6.1", &pb, &tb, &jb});
}

TEST(KernelCompare, SameAnswersAreSame) {
  Program prog = MustParse("mmap 0 1 rw anon private\nwrite 0\n");
  KernelProfile p = HostProfile618();
  EXPECT_EQ(Compare(prog, p, OkTrace(prog), p, OkTrace(prog)).kind, KernelComparison::Kind::kSame);
}

// The host has no soft-dirty, 6.1 has: the D bit differs, and each model
// allows its kernel's answer.
TEST(KernelCompare, ProfilesExplainADifference) {
  Program prog = MustParse("mmap 0 1 rw anon private\nwrite 0\npagemap 0 1\n");
  Trace host = OkTrace(prog), guest = OkTrace(prog);
  host.results[2] = Result{.kind = ResultKind::kPagemap, .pagemap = {kPmPresent | kPmMmapExclusive}};
  guest.results[2] = Result{.kind = ResultKind::kPagemap, .pagemap = {kPmPresent | kPmMmapExclusive | kPmSoftDirty}};
  KernelComparison c = Compare(prog, HostProfile618(), host, GuestProfile61(), guest);
  EXPECT_EQ(c.kind, KernelComparison::Kind::kExplained) << c.judgement.line;
  EXPECT_EQ(c.op_index, 2u);
}

// The same D bit missing on 6.1: only the host's model allows it.
TEST(KernelCompare, OneModelAllowsItIsKernelDiffers) {
  Program prog = MustParse("mmap 0 1 rw anon private\nwrite 0\npagemap 0 1\n");
  Trace host = OkTrace(prog), guest = OkTrace(prog);
  host.results[2] = Result{.kind = ResultKind::kPagemap, .pagemap = {kPmPresent | kPmMmapExclusive}};
  guest.results[2] = host.results[2];
  guest.results[1] = Result{.kind = ResultKind::kErr, .err = 14};
  KernelComparison c = Compare(prog, HostProfile618(), host, GuestProfile61(), guest);
  ASSERT_EQ(c.kind, KernelComparison::Kind::kDiffers);
  ASSERT_TRUE(c.judgement.verdict.divergence);
  EXPECT_EQ(c.judgement.verdict.divergence->cls, DivergenceClass::kKernelDiffers);
  EXPECT_EQ(c.judgement.line,
            "DIVERGENCE kernel-differs op=1 \"write 0\" A=host: ok B=guest 6.1: err EFAULT (model allows: A only)");
  EXPECT_EQ(c.judgement.verdict.divergence->signature, "kernel-differs|write|ok/err EFAULT|A");
  EXPECT_NE(c.judgement.detail.find("B => err EFAULT    <<< the first difference"), std::string::npos)
      << c.judgement.detail;
}

// Past an op the model does not model: skipped between different profiles,
// a finding between two kernels with the same one.
TEST(KernelCompare, WhereTheModelStopsOnlyTheSameModelJudges) {
  // MADV_PAGEOUT of a PTE-mapped THP is not modelled.
  Program prog = MustParse(
      "mmap 0 1024 rw anon private\nmadvise 0 1024 hugepage\nwrite 0\nmprotect 256 256 r\n"
      "madvise 0 512 pageout\npagemap 0 1\n");
  Trace a = OkTrace(prog), b = OkTrace(prog);
  a.results[5] = Result{.kind = ResultKind::kPagemap, .pagemap = {kPmPresent | kPmMmapExclusive}};
  b.results[5] = Result{.kind = ResultKind::kPagemap, .pagemap = {kPmPresent}};
  KernelProfile host = HostProfile618();
  ASSERT_EQ(JudgeKernelRun(prog, a, host).verdict.status, Verdict::Status::kUnmodelled);
  EXPECT_EQ(Compare(prog, host, a, GuestProfile61(), b).kind, KernelComparison::Kind::kSkipped);
  KernelComparison c = Compare(prog, host, a, host, b);
  EXPECT_EQ(c.kind, KernelComparison::Kind::kDiffers);
  EXPECT_NE(c.judgement.line.find("(model allows: neither: not modelled, the same model for both)"), std::string::npos)
      << c.judgement.line;
  EXPECT_TRUE(ModelsAgree(host, host));
  EXPECT_FALSE(ModelsAgree(host, GuestProfile61()));
}

}  // namespace
}  // namespace mmdiff
