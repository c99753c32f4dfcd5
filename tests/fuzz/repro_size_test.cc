// What a finding's artefacts weigh: every corpus/quirks program of at most 9
// steps (up to 20 steps: a few lines more per step, and the turns of a
// program that forks), run on a model kernel that has every known quirk (each op answers
// with the quirk's result where the model allows one), judged against the
// contract (no quirk allowed), gives
//   - a C reproducer of at most 60 lines that compiles with -Wall -Werror,
//   - a report of at most 120 lines, the reproducer included;
// and a longer program's reproducer grows with its steps, not faster.
// No kernel needed: the finding is the model's own quirky answers.
#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>

#include "fuzz/report.h"
#include "fuzz/repro.h"
#include "model/checker.h"
#include "model/judge.h"
#include "model/model.h"
#include "tests/fuzz/repro_test_util.h"

namespace mmdiff {
namespace {

using namespace reprotest;

size_t Lines(const std::string& s) { return static_cast<size_t>(std::count(s.begin(), s.end(), '\n')); }

// A kernel with every mechanism (soft-dirty, uffd-wp with WP_ASYNC,
// PAGEMAP_SCAN, guard regions, THP, a hugetlb pool) and every known quirk.
KernelFeatures QuirkyFeatures() {
  KernelFeatures f = HostFeatures618();
  f.release = "6.12.0-quirky";
  f.features |= kFeatSoftDirty | kFeatScanSoftDirty | kFeatHugetlb;
  f.hugetlb_free = 8;  // the guests' pool (vmimages/qemu.cc hugepages=8)
  f.fault_around_bytes = 4096;
  return f;
}

// What that kernel answers: where the model allows a quirk's result, that one.
Trace QuirkyTrace(const Program& prog, const KernelProfile& quirky) {
  Model m(quirky);
  Trace t;
  for (size_t i = 0; i < prog.ops.size(); i++) {
    Prediction p = m.Predict(prog.ops[i], i);
    if (!p.unmodelled.empty()) break;
    Result r = p.expected;
    r.either.clear();
    for (const Alternative& a : p.alternatives)
      if (a.grants.HasQuirk()) {
        r = a.result;
        break;
      }
    for (const Latitude& l : p.latitudes)  // a quirk's doubtful PTE: the other value
      if (l.grant.quirk && r.kind == ResultKind::kPagemap && l.index < r.pagemap.size()) r.pagemap[l.index] ^= l.bits;
    m.Apply(prog.ops[i], i, r);
    t.results.push_back(r);
  }
  return t;
}

struct Finding {
  Program prog;
  Trace trace;
  Judgement judgement;
  KernelProfile profile;  // the contract: no quirk allowed
};

Finding FindingOf(const std::string& path) {
  Finding f;
  TextError terr;
  EXPECT_TRUE(ParseProgramFile(path, &f.prog, &terr)) << terr.ToString();
  KernelProfile quirky = MakeProfile(QuirkyFeatures());
  quirky.quirks.bits = (1u << kNumQuirks) - 1;
  f.trace = QuirkyTrace(f.prog, quirky);
  f.profile = quirky;
  f.profile.quirks = {};
  f.judgement = JudgeKernelRun(f.prog, f.trace, f.profile);
  if (f.judgement.kind == Judgement::Kind::kPass) {
    // A quirk the model has no answer for (a hang, a lost registration): the
    // kernel fails the program's last "=> RESULT" instead.
    for (size_t i = f.prog.ops.size(); i-- > 0;)
      if (f.prog.expect[i].kind != ResultKind::kNone && i < f.trace.results.size()) {
        f.trace.results[i] = Result{.kind = ResultKind::kErr, .err = EIO};
        break;
      }
    f.judgement = JudgeKernelRun(f.prog, f.trace, f.profile);
  }
  return f;
}

std::string Quirks() { return std::string(MMDIFF_SOURCE_DIR) + "/corpus/quirks"; }

TEST(ReproSize, ShortProgramsGiveAMailSizedReproducerAndReport) {
  int n = 0;
  for (const std::string& name : MmpFiles(Quirks())) {
    Finding f = FindingOf(Quirks() + "/" + name);
    if (f.prog.ops.size() > 20) continue;
    // 60 and 120 lines up to 9 steps; beyond, a few lines per step and at
    // most 60 for the machinery of a longer program (turns between forked
    // processes, an event reader).
    size_t more = f.prog.ops.size() > 9 ? f.prog.ops.size() - 9 + 15 : 0;
    EXPECT_EQ(f.judgement.kind, Judgement::Kind::kFail) << name << ": " << f.judgement.line;
    n++;
    ReproSpec spec = SpecForJudgement(f.prog, f.judgement);
    spec.notes.insert(spec.notes.begin(), "from corpus/quirks/" + name + ", run on kernel 6.12.0-quirky");
    std::string c = WriteReproC(f.prog, spec);
    EXPECT_LE(Lines(c), 60u + 4 * more) << name << " (" << f.judgement.line << ")\n" << c;
    if (!FindCCompiler().empty()) {
      EXPECT_FALSE(Compile(name, c).empty()) << c;
    }
    ReportInput in{f.prog, f.trace, f.judgement, QuirkyFeatures(), f.profile, 0, 0};
    std::string report = WriteReport(in);
    EXPECT_LE(Lines(report), 120u + 6 * more) << name << "\n" << report;
    if (const char* show = getenv("MMDIFF_SHOW"); show && name.find(show) != std::string::npos)
      std::printf("%s\n", report.c_str());
    std::printf("[ size ] %-45s %2zu steps: repro.c %3zu lines, report %3zu lines; %s\n", name.c_str(),
                f.prog.ops.size(), Lines(c), Lines(report), f.judgement.line.substr(0, 60).c_str());
  }
  EXPECT_GE(n, 10);
}

// A long run of the same op: a table in the C, a line per 12 steps.
TEST(ReproSize, LongProgramsGrowLinearly) {
  Finding f = FindingOf(Quirks() + "/scan_stale_walk_end.mmp");
  ASSERT_GT(f.prog.ops.size(), 500u);
  std::string c = WriteReproC(f.prog, SpecForJudgement(f.prog, f.judgement));
  EXPECT_LE(Lines(c), 60 + f.prog.ops.size() / 2) << f.judgement.line;  // its 512 stores are a table
  if (!FindCCompiler().empty()) {
    EXPECT_FALSE(Compile("scan_stale_walk_end", c).empty());
  }
  std::printf("[ size ] scan_stale_walk_end %zu steps: repro.c %zu lines\n", f.prog.ops.size(), Lines(c));
}

}  // namespace
}  // namespace mmdiff
