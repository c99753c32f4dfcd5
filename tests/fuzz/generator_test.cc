// The generator: reproducible, valid, covering the op table, inside the model.
#include "fuzz/generator.h"

#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <set>
#include <string>

#include "fuzz/rng.h"
#include "model/checker.h"
#include "model/invariants.h"
#include "model/model.h"
#include "prog/op_traits.h"
#include "prog/op_traits.h"
#include "prog/text.h"

namespace mmdiff {
namespace {

constexpr int kPrograms = 2000;
// Rng(42): Below(1000) x8, Between(5, 9), Below(3).
constexpr const char* kPinnedDraws = "755 639 752 136 903 94 574 372 6 0";

GeneratorOptions Options(uint64_t seed, const KernelProfile& profile) {
  GeneratorOptions o;
  o.seed = seed;
  o.profile = profile;
  return o;
}

// --- the random source --------------------------------------------------------

TEST(RngTest, RawSequenceIsTheStandardOne) {
  // [rand.predef]: the 10000th output of a default-constructed mt19937_64.
  Rng rng(5489);
  uint64_t x = 0;
  for (int i = 0; i < 10000; i++) x = rng.Next();
  EXPECT_EQ(x, 9981545732273789042ULL);
}

TEST(RngTest, DrawsArePinned) {
  // Below() is computed from Next() by hand; these values must never change
  // (a changed value means old seeds no longer reproduce their programs).
  Rng rng(42);
  std::string got;
  for (int i = 0; i < 8; i++) got += std::to_string(rng.Below(1000)) + " ";
  got += std::to_string(rng.Between(5, 9)) + " " + std::to_string(rng.Below(3));
  Rng again(42);
  std::string got2;
  for (int i = 0; i < 8; i++) got2 += std::to_string(again.Below(1000)) + " ";
  got2 += std::to_string(again.Between(5, 9)) + " " + std::to_string(again.Below(3));
  EXPECT_EQ(got, got2);
  EXPECT_EQ(got, kPinnedDraws);
}

TEST(RngTest, BelowIsInRangeAndRoughlyUniform) {
  Rng rng(7);
  int counts[6] = {};
  for (int i = 0; i < 60000; i++) {
    uint64_t x = rng.Below(6);
    ASSERT_LT(x, 6u);
    counts[x]++;
  }
  for (int c : counts) EXPECT_NEAR(c, 10000, 600);
  uint32_t w[] = {0, 3, 1};
  int hits[3] = {};
  for (int i = 0; i < 40000; i++) hits[rng.Weighted(w)]++;
  EXPECT_EQ(hits[0], 0);
  EXPECT_NEAR(hits[1], 30000, 800);
}

// --- reproducibility ----------------------------------------------------------

TEST(GeneratorTest, SameSeedSameProgram) {
  for (const KernelProfile& prof : {HostProfile618(), GuestProfile61()}) {
    Generator a(Options(1234, prof)), b(Options(1234, prof));
    for (uint64_t i = 0; i < 50; i++) {
      Program pa = a.Generate(i), pb = b.Generate(i);
      EXPECT_EQ(pa, pb) << i;
      EXPECT_EQ(PrintProgram(pa), PrintProgram(a.Generate(i))) << i;
    }
    // Next() walks the same indices.
    Generator c(Options(1234, prof));
    for (uint64_t i = 0; i < 20; i++) EXPECT_EQ(c.Next(), a.Generate(i)) << i;
  }
}

TEST(GeneratorTest, DifferentSeedsDiffer) {
  KernelProfile prof = HostProfile618();
  Generator a(Options(1, prof)), b(Options(2, prof));
  int same = 0;
  for (uint64_t i = 0; i < 50; i++) same += a.Generate(i) == b.Generate(i);
  EXPECT_EQ(same, 0);
  // And different indices of one seed differ.
  EXPECT_FALSE(a.Generate(0) == a.Generate(1));
}

TEST(GeneratorTest, SizesFollowTheOptions) {
  GeneratorOptions o = Options(9, HostProfile618());
  o.min_ops = 3;
  o.max_ops = 5;
  Generator g(o);
  for (int i = 0; i < 200; i++) {
    Program p = g.Next();
    EXPECT_GE(p.ops.size(), 3u);
    EXPECT_LE(p.ops.size(), 5u);
  }
}

// --- coverage, validity, modelled rate, speed -----------------------------------

struct Coverage {
  std::set<int> kinds, advices, prots, backings, sharing, clear_refs, onoff;
  uint32_t features = 0, uffd_features = 0, uffd_modes = 0;
  std::set<std::string> options;  // "op:word" for every optional arg seen
  size_t ops = 0, observe = 0, scans = 0;
  uint32_t max_mmap = 0, max_observe = 0;
};

void Record(const Op& op, Coverage* c) {
  const OpInfo& info = GetOpInfo(op.kind);
  c->ops++;
  c->kinds.insert(static_cast<int>(op.kind));
  if (op.kind == OpKind::kPagemap || op.kind == OpKind::kScan) {
    c->observe++;
    c->max_observe = std::max(c->max_observe, op.npages);
  }
  if (op.kind == OpKind::kScan) c->scans++;
  if (op.kind == OpKind::kMmap) c->max_mmap = std::max(c->max_mmap, op.npages);
  for (const ArgSpec& spec : info.args) {
    std::string key = std::string(info.name) + ":" + (spec.word ? spec.word : "");
    switch (spec.kind) {
      case ArgKind::kProt: c->prots.insert(static_cast<int>(op.prot)); break;
      case ArgKind::kBacking: c->backings.insert(static_cast<int>(op.backing)); break;
      case ArgKind::kSharing: c->sharing.insert(op.shared); break;
      case ArgKind::kAdvice: c->advices.insert(static_cast<int>(op.advice)); break;
      case ArgKind::kClearRefsType: c->clear_refs.insert(static_cast<int>(op.value)); break;
      case ArgKind::kOnOff: c->onoff.insert((op.flags & kFlagWpOn) != 0); break;
      case ArgKind::kFlag: case ArgKind::kMove:
        if (op.flags & spec.bit) c->options.insert(key);
        break;
      case ArgKind::kOffset:
        if (op.flags & kFlagHasOffset) c->options.insert(key + "offset");
        break;
      case ArgKind::kByte:
        if (op.flags & kFlagHasByte) c->options.insert(key + "byte");
        break;
      case ArgKind::kCategories: case ArgKind::kNumber:
        if (ScanFieldValue(op, spec.bit) != 0 || (PresenceFlag(spec) && (op.flags & PresenceFlag(spec))))
          c->options.insert(key);
        break;
      case ArgKind::kFeatures: c->features |= op.required_features; break;
      case ArgKind::kUffdFeatures: c->uffd_features |= op.uffd_features; break;
      case ArgKind::kUffdModes: c->uffd_modes |= op.uffd_modes; break;
      case ArgKind::kPage: case ArgKind::kFilePage: case ArgKind::kNpages: case ArgKind::kNewNpages:
      case ArgKind::kFile:
        break;
    }
  }
}

// Every optional arg of the op table, as Record() names it.
std::set<std::string> AllOptions() {
  std::set<std::string> all;
  for (const OpInfo& info : AllOps())
    for (const ArgSpec& spec : info.args) {
      std::string key = std::string(info.name) + ":" + (spec.word ? spec.word : "");
      switch (spec.kind) {
        case ArgKind::kFlag: case ArgKind::kMove: case ArgKind::kCategories: case ArgKind::kNumber:
          all.insert(key);
          break;
        case ArgKind::kOffset: all.insert(key + "offset"); break;
        case ArgKind::kByte: all.insert(key + "byte"); break;
        default: break;
      }
    }
  return all;
}

struct RunSummary {
  Coverage cov;
  int unmodelled = 0;
  double us_per_program = 0;
};

RunSummary GenerateMany(const KernelProfile& prof, uint64_t seed) {
  RunSummary s;
  Generator g(Options(seed, prof));
  std::vector<Program> progs;
  progs.reserve(kPrograms);
  auto t0 = std::chrono::steady_clock::now();
  for (int i = 0; i < kPrograms; i++) progs.push_back(g.Next());
  auto t1 = std::chrono::steady_clock::now();
  s.us_per_program = std::chrono::duration<double, std::micro>(t1 - t0).count() / kPrograms;
  for (size_t i = 0; i < progs.size(); i++) {
    const Program& p = progs[i];
    auto err = Validate(p);
    EXPECT_FALSE(err.has_value()) << "program " << i << " op " << err->op_index << ": " << err->message << "\n"
                                  << PrintProgram(p);
    EXPECT_GE(p.ops.size(), 10u);
    EXPECT_LE(p.ops.size(), 60u);
    for (const Op& op : p.ops) Record(op, &s.cov);
    Trace t = PredictTrace(p, prof);
    bool stopped = false;
    for (const Result& r : t.results) stopped |= r.kind == ResultKind::kNone;
    s.unmodelled += stopped;
  }
  const GeneratorStats& st = g.stats();
  std::printf("[ %s ] %d programs, %.1f ops avg, %.1f us/program, drafts dropped as unmodelled %.2f%%, "
              "padded %llu, unmodelled by PredictTrace %d (%.2f%%), observe %.1f%% of ops, scan %.2f%%\n",
              prof.release.c_str(), kPrograms, double(st.ops) / kPrograms, s.us_per_program,
              100.0 * st.dropped_unmodelled / std::max<uint64_t>(1, st.candidates),
              static_cast<unsigned long long>(st.padded), s.unmodelled, 100.0 * s.unmodelled / kPrograms,
              100.0 * s.cov.observe / s.cov.ops, 100.0 * s.cov.scans / s.cov.ops);
  return s;
}

void ExpectCovers(const KernelProfile& prof, const RunSummary& s) {
  const Coverage& c = s.cov;
  for (int k = 0; k < kNumOpKinds; k++)
    EXPECT_TRUE(c.kinds.count(k)) << "op never generated: " << GetOpInfo(static_cast<OpKind>(k)).name;
  for (int a = 0; a < kNumAdvice; a++) EXPECT_TRUE(c.advices.count(a)) << "advice " << AdviceNames()[a];
  EXPECT_EQ(c.prots.size(), 5u);
  EXPECT_EQ(c.backings.size(), 3u);
  EXPECT_EQ(c.sharing.size(), 2u);
  EXPECT_EQ(c.clear_refs.size(), 5u);
  EXPECT_EQ(c.onoff.size(), 2u);
  EXPECT_EQ(c.uffd_modes, uint32_t{kUffdModeMissing | kUffdModeWp | kUffdModeMinor});
  EXPECT_EQ(c.features, prof.features) << "requires words: " << FeatureList(c.features);
  // Every uffd feature the kernel accepts, and none it does not.
  EXPECT_EQ(c.uffd_features, prof.uffd_features);
  for (const std::string& opt : AllOptions()) EXPECT_TRUE(c.options.count(opt)) << "option never generated: " << opt;
  // Observations are about a quarter of the ops; ranges stay small.
  EXPECT_GT(c.observe * 100, c.ops * 20);
  EXPECT_LT(c.observe * 100, c.ops * 32);
  EXPECT_LE(c.max_observe, 512u);
  EXPECT_LE(c.max_mmap, 2 * 512u + 64);
  if (!prof.pagemap_scan) {
    EXPECT_LT(c.scans * 100, c.ops) << "scan is only for ENOTTY here";
  }
  EXPECT_LE(s.unmodelled * 100, kPrograms * 5) << "more than 5% of programs stop unmodelled";
}

TEST(GeneratorTest, HostProgramsCoverTheTableInsideTheModel) {
  KernelProfile prof = HostProfile618();
  RunSummary s = GenerateMany(prof, 20260101);
  ExpectCovers(prof, s);
}

TEST(GeneratorTest, GuestProgramsCoverTheTableInsideTheModel) {
  KernelProfile prof = GuestProfile61();
  RunSummary s = GenerateMany(prof, 20260101);
  ExpectCovers(prof, s);
  // No WP_ASYNC/WP_UNPOPULATED where UFFDIO_API refuses them.
  EXPECT_FALSE(s.cov.uffd_features & (kUffdWpAsync | kUffdWpUnpopulated));
}

TEST(GeneratorTest, BothProfilesTogetherUseEveryUffdFeature) {
  uint32_t seen = 0;
  for (const KernelProfile& prof : {HostProfile618(), GuestProfile61()}) {
    Generator g(Options(5, prof));
    for (int i = 0; i < 300; i++)
      for (const Op& op : g.Next().ops)
        if (op.kind == OpKind::kUffdOpen) seen |= op.uffd_features;
  }
  EXPECT_EQ(seen, (1u << kNumUffdFeatures) - 1);
}

// --- programs round-trip and keep the model consistent ----------------------------

TEST(GeneratorTest, ProgramsRoundTripThroughText) {
  Generator g(Options(77, HostProfile618()));
  for (int i = 0; i < 300; i++) {
    Program p = g.Next();
    std::string text = PrintProgram(p);
    Program back;
    TextError err;
    ASSERT_TRUE(ParseProgram(text, "gen.mmp", &back, &err)) << err.ToString() << "\n" << text;
    ASSERT_EQ(back.ops.size(), p.ops.size());
    for (size_t k = 0; k < p.ops.size(); k++)
      EXPECT_TRUE(back.ops[k] == p.ops[k]) << "op " << k << " " << PrintOp(p.ops[k]) << " does not parse back to itself";
    EXPECT_EQ(back, p);
  }
}

TEST(GeneratorTest, ModelInvariantsHoldAlongGeneratedPrograms) {
  for (const KernelProfile& prof : {HostProfile618(), GuestProfile61()}) {
    Generator g(Options(31, prof));
    for (int n = 0; n < 300; n++) {
      Program p = g.Next();
      Model m(prof);
      for (size_t i = 0; i < p.ops.size(); i++) {
        Prediction pred = m.Predict(p.ops[i], i);
        ASSERT_TRUE(pred.unmodelled.empty());
        m.Apply(p.ops[i], i, pred.expected);
        auto bad = CheckInvariants(m);
        ASSERT_FALSE(bad.has_value()) << prof.release << " program " << n << " after op " << i << " "
                                      << PrintOp(p.ops[i]) << ": " << *bad << "\n"
                                      << PrintProgram(p);
      }
    }
  }
}

}  // namespace
}  // namespace mmdiff

namespace mmdiff {
namespace {

// Issue "Reach": at least 15% of generated programs touch a THP-eligible
// 2 MiB slot (an op on a page whose VMA could hold a PMD THP there), on a
// kernel with THP in madvise mode (the host) and in always mode (6.12).
TEST(GeneratorTest, ProgramsReachThpSlots) {
  KernelProfile always = GuestProfile61();
  always.thp = ThpMode::kAlways;
  for (const KernelProfile& prof : {HostProfile618(), always}) {
    Generator g(Options(77, prof));
    constexpr int kPrograms = 1000;
    int touching = 0, huge = 0;
    for (int n = 0; n < kPrograms; n++) {
      Program p = g.Next();
      Model m(prof);
      bool touched = false, mapped = false;
      for (size_t i = 0; i < p.ops.size(); i++) {
        const Op& op = p.ops[i];
        const Process& before = m.state().procs[op.proc];
        int vi = m.state().VmaAt(before, op.page);
        if (!HasTrait(op.kind, kTraitObserves) && vi >= 0 && m.ThpPossible(before.vmas[vi], op.page))
          touched = true;
        m.Advance(op, i);
        for (const Process& q : m.state().procs) mapped |= !q.thp.empty() || !q.huge_zero.empty();
      }
      touching += touched;
      huge += mapped;
    }
    std::printf("%s: %d of %d programs touch a THP-eligible slot, %d map a huge PMD\n", prof.release.c_str(),
                touching, kPrograms, huge);
    EXPECT_GE(touching * 100, 15 * kPrograms) << prof.release;
    EXPECT_GE(huge * 100, 10 * kPrograms) << prof.release;
  }
}

}  // namespace
}  // namespace mmdiff

namespace mmdiff {
namespace {

// How many of 1000 generated programs have `hit` true before some op (the
// model walked to just before it).
template <typename Hit>
int ProgramsWhere(const KernelProfile& prof, uint64_t seed, Hit hit) {
  Generator g(Options(seed, prof));
  int n = 0;
  for (int k = 0; k < 1000; k++) {
    Program p = g.Next();
    Model m(prof);
    bool any = false;
    for (size_t i = 0; i < p.ops.size() && !any; i++) {
      any = hit(m, p.ops[i]);
      m.Advance(p.ops[i], i);
    }
    n += any;
  }
  return n;
}

// Issue "Reach": where the target has swap, at least 10% of generated
// programs page anonymous memory out (an anonymous page becomes a swap
// entry, seen before a later op).
TEST(GeneratorTest, ProgramsPageOutWhereThereIsSwap) {
  KernelProfile swap = GuestProfile61();
  swap.swap = true;
  int paged = ProgramsWhere(swap, 78, [](const Model& m, const Op&) {
    for (const Process& q : m.state().procs)
      for (auto& [page, pte] : q.ptes)
        if (pte.kind == PteKind::kSwap) return true;
    return false;
  });
  std::printf("with swap: %d of 1000 programs page anonymous memory out\n", paged);
  EXPECT_GE(paged, 100);
}

// With swap and PAGEMAP_SCAN, the generator builds the scenario of the
// kernel mutant scan-fast-path-swap-uffd-wp: a WP_MATCHING scan without a
// buffer (the fast path) over swap entries of an async uffd-wp range.
TEST(GeneratorTest, FastPathScansMeetSwapEntries) {
  KernelProfile swap = HostProfile618();
  swap.swap = true;
  int met = ProgramsWhere(swap, 79, [](const Model& m, const Op& op) {
    if (op.kind != OpKind::kScan || !(op.flags & kFlagWpMatching) || !(op.flags & kFlagHasVec) || op.scan_vec)
      return false;
    const Process& q = m.state().procs[op.proc];
    for (auto it = q.ptes.LowerBound(op.page); it != q.ptes.end() && it->first < op.page + op.npages; ++it)
      if (it->second.kind == PteKind::kSwap) return true;
    return false;
  });
  std::printf("with swap: %d of 1000 programs scan swap entries with WP_MATCHING and vec=0\n", met);
  EXPECT_GE(met, 20);
}

// Where the kernel has soft-dirty, some programs take write permission away
// after clear_refs 4 and give it back before they write and look (the
// soft-dirty selftest's mprotect test): the path where mprotect must not
// make a clean PTE writable.
TEST(GeneratorTest, SoftDirtyProgramsToggleWritePermission) {
  KernelProfile prof = GuestProfile61();
  Generator g(Options(78, prof));
  constexpr int kPrograms = 1000;
  int toggling = 0;
  for (int n = 0; n < kPrograms; n++) {
    Program p = g.Next();
    bool cleared = false, taken = false, toggled = false;
    for (const Op& op : p.ops) {
      if (op.kind == OpKind::kClearRefs && op.value == 4) cleared = true;
      bool writable = op.prot == Prot::kRW || op.prot == Prot::kRWX;
      if (cleared && op.kind == OpKind::kMprotect) {
        if (!writable) taken = true;
        else if (taken) toggled = true;
      }
      if (toggled && op.kind == OpKind::kWrite) {
        toggling++;
        break;
      }
    }
  }
  std::printf("%s: %d of %d programs write after clear_refs 4 and an mprotect that took write away and gave it back\n",
              prof.release.c_str(), toggling, kPrograms);
  EXPECT_GE(toggling * 100, 5 * kPrograms);
}

}  // namespace
}  // namespace mmdiff
