// The mutator: every mutator applies, mutated programs stay valid and inside
// the model, mutation is reproducible and fast; the repair walk renumbers
// processes and drops what the model does not model.
#include "fuzz/mutator.h"

#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

#include "fuzz/draft.h"
#include "fuzz/generator.h"
#include "fuzz/rng.h"
#include "model/invariants.h"
#include "model/model.h"
#include "prog/op_table.h"
#include "prog/text.h"

namespace mmdiff {
namespace {

std::vector<Program> Seeds(const KernelProfile& prof, uint64_t seed, int n) {
  GeneratorOptions o;
  o.seed = seed;
  o.profile = prof;
  Generator g(o);
  std::vector<Program> out;
  for (int i = 0; i < n; i++) out.push_back(g.Next());
  return out;
}

Program Parse(const char* text) {
  Program p;
  TextError err;
  EXPECT_TRUE(ParseProgram(text, "test.mmp", &p, &err)) << err.ToString();
  return p;
}

// A program as written, valid or not: each line parsed alone, its "pN: "
// prefix set afterwards (the parser would refuse a p1 that was never forked).
Program Raw(std::vector<std::string> lines) {
  Program p;
  for (std::string line : lines) {
    int proc = 0;
    if (line[0] == 'p' && line.find(": ") != std::string::npos) {
      proc = std::stoi(line.substr(1));
      line = line.substr(line.find(": ") + 2);
    }
    Program one = Parse(line.c_str());
    EXPECT_EQ(one.ops.size(), 1u) << line;
    Op op = one.ops.at(0);
    op.proc = static_cast<uint8_t>(proc);
    p.Add(op, one.expect.at(0));
  }
  return p;
}

// Every op modelled along the program, the model's invariants after every
// step. "" when all hold.
std::string CheckInsideModel(const Program& p, const KernelProfile& prof) {
  Model m(prof);
  for (size_t i = 0; i < p.ops.size(); i++) {
    Prediction pred = m.Predict(p.ops[i], i);
    if (!pred.unmodelled.empty()) return "op " + std::to_string(i) + " unmodelled: " + pred.unmodelled;
    m.Apply(p.ops[i], i, pred.expected);
    if (auto bad = CheckInvariants(m)) return "op " + std::to_string(i) + " breaks an invariant: " + *bad;
  }
  return "";
}

TEST(MutatorTest, TableHasNamedMutators) {
  auto names = Mutator::Names();
  ASSERT_EQ(names.size(), 10u);
  for (const char* want : {"insert_op", "remove_op", "duplicate_op", "splice", "change_arg", "move_process",
                           "retarget_range", "snap_thp", "swap_adjacent", "toggle_option"})
    EXPECT_GE(Mutator::IndexOf(want), 0) << want;
  EXPECT_EQ(Mutator::IndexOf("nope"), -1);
  Mutator m(HostProfile618());
  EXPECT_EQ(m.stats().size(), names.size());
}

TEST(MutatorTest, EveryMutatorAppliesOnSomeProgram) {
  for (const KernelProfile& prof : {HostProfile618(), GuestProfile61()}) {
    std::vector<Program> seeds = Seeds(prof, 11, 40);
    Mutator m(prof);
    Rng rng(3);
    for (size_t k = 0; k < Mutator::Names().size(); k++) {
      int applied = 0;
      for (const Program& s : seeds) {
        Program p = s;
        if (m.MutateWith(k, &p, rng, seeds)) {
          applied++;
          EXPECT_FALSE(Validate(p).has_value());
          EXPECT_FALSE(p == s);
        }
      }
      EXPECT_GT(applied, 0) << prof.release << ": " << Mutator::Names()[k] << " never applied";
      // Mutators that always have something to work on apply almost always.
      std::string name = Mutator::Names()[k];
      if (name == "insert_op" || name == "remove_op" || name == "change_arg" || name == "swap_adjacent") {
        EXPECT_GT(applied, 30) << prof.release << ": " << name;
      }
    }
  }
}

TEST(MutatorTest, InsertIntoAnEmptyProgram) {
  Mutator m(HostProfile618());
  Rng rng(1);
  Program p;
  ASSERT_TRUE(m.MutateWith(Mutator::IndexOf("insert_op"), &p, rng, {}));
  EXPECT_EQ(p.ops.size(), 1u);
  EXPECT_FALSE(Validate(p).has_value());
}

TEST(MutatorTest, SpliceNeedsACorpus) {
  Mutator m(HostProfile618());
  Rng rng(1);
  Program p = Seeds(HostProfile618(), 2, 1)[0];
  EXPECT_FALSE(m.MutateWith(Mutator::IndexOf("splice"), &p, rng, {}));
}

// 5000 mutations, chained from generated seeds: all valid, all modelled.
TEST(MutatorTest, ManyMutationsStayValidAndModelled) {
  for (const KernelProfile& prof : {HostProfile618(), GuestProfile61()}) {
    std::vector<Program> corpus = Seeds(prof, 20260101, 100);
    Mutator m(prof);
    Rng rng(99);
    constexpr int kMutations = 5000;
    int ok = 0;
    size_t max_ops = 0;
    Program p = corpus[0];
    auto t0 = std::chrono::steady_clock::now();
    for (int i = 0; i < kMutations; i++) {
      if (rng.OneIn(8)) p = corpus[rng.Below(corpus.size())];
      size_t which = 0;
      if (!m.Mutate(&p, rng, corpus, &which)) continue;
      ok++;
      auto err = Validate(p);
      ASSERT_FALSE(err.has_value()) << Mutator::Names()[which] << ": op " << err->op_index << " " << err->message
                                    << "\n" << PrintProgram(p);
      ASSERT_LE(p.ops.size(), 60u);
      ASSERT_GE(p.ops.size(), 1u);
      max_ops = std::max(max_ops, p.ops.size());
      if (i % 5 == 0) {
        std::string bad = CheckInsideModel(p, prof);
        ASSERT_EQ(bad, "") << Mutator::Names()[which] << "\n" << PrintProgram(p);
      }
      if (rng.OneIn(10)) corpus[rng.Below(corpus.size())] = p;  // the corpus grows as a campaign's would
    }
    auto t1 = std::chrono::steady_clock::now();
    double us = std::chrono::duration<double, std::micro>(t1 - t0).count() / kMutations;
    EXPECT_GT(ok, kMutations * 95 / 100) << "mutations that found nothing to do";
    const RepairStats& r = m.repair_stats();
    std::printf("[ %s ] %d/%d mutations applied, %.1f us/mutation (incl. 1 in 5 checked), max %zu ops; repair walked "
                "%llu ops, dropped %.2f%% (unmodelled %.2f%%, no process %.2f%%, invalid %.2f%%, "
                "too many %.2f%%)\n",
                prof.release.c_str(), ok, kMutations, us, max_ops, static_cast<unsigned long long>(r.walked),
                100.0 * r.dropped() / r.walked, 100.0 * r.dropped_unmodelled / r.walked,
                100.0 * r.dropped_no_process / r.walked,
                100.0 * r.dropped_invalid / r.walked, 100.0 * r.dropped_too_many / r.walked);
    for (size_t k = 0; k < m.stats().size(); k++)
      std::printf("    %-15s tried %6llu applied %6llu\n", Mutator::Names()[k],
                  static_cast<unsigned long long>(m.stats()[k].tried),
                  static_cast<unsigned long long>(m.stats()[k].applied));
    // Few ops are lost to the model: mutations mostly stay inside it.
    EXPECT_LT(r.dropped_unmodelled * 100, r.walked * 5);
  }
}

TEST(MutatorTest, DeterministicForASeed) {
  KernelProfile prof = HostProfile618();
  std::vector<Program> corpus = Seeds(prof, 8, 20);
  auto run = [&] {
    Mutator m(prof);
    Rng rng(12345);
    std::string out;
    Program p = corpus[0];
    for (int i = 0; i < 300; i++) {
      size_t which = 0;
      if (m.Mutate(&p, rng, corpus, &which)) out += std::string(Mutator::Names()[which]) + "\n" + PrintProgram(p);
    }
    return out;
  };
  std::string a = run(), b = run();
  EXPECT_FALSE(a.empty());
  EXPECT_EQ(a, b);
}

TEST(MutatorTest, CreditLastCountsNewCoverage) {
  Mutator m(HostProfile618());
  Rng rng(5);
  Program p = Seeds(HostProfile618(), 1, 1)[0];
  size_t which = 0;
  ASSERT_TRUE(m.Mutate(&p, rng, {}, &which));
  EXPECT_EQ(m.last(), static_cast<int>(which));
  m.CreditLast(which);
  m.CreditLast(which);
  EXPECT_EQ(m.stats()[which].new_coverage, 2u);
  EXPECT_EQ(m.stats()[which].applied, 1u);
}

// --- the repair walk ----------------------------------------------------------

TEST(KeepModelledTest, RenumbersProcessesWhenAForkGoes) {
  // The first fork runs in p1, which does not exist: dropped, so the second
  // fork's child (p2 as written) becomes p1.
  Program p = Raw({"mmap 0 4 rw anon private", "p1: fork", "fork", "p2: write 1", "p1: write 2"});
  RepairStats st;
  ASSERT_TRUE(KeepModelled(&p, HostProfile618(), 60, &st));
  EXPECT_EQ(PrintProgram(p),
            "mmap 0 4 rw anon private\n"
            "fork\n"
            "p1: write 1\n");
  EXPECT_EQ(st.dropped_no_process, 2u);  // "p1: fork" and "p1: write 2" (p1 as written never existed)
}

TEST(KeepModelledTest, DropsOpsOfExitedProcessesAndCutsToMaxOps) {
  Program p = Raw({"fork", "p1: exit", "p1: write 0", "pagemap 0 1", "pagemap 0 2", "pagemap 0 3"});
  RepairStats st;
  ASSERT_TRUE(KeepModelled(&p, HostProfile618(), 4, &st));
  EXPECT_EQ(PrintProgram(p), "fork\np1: exit\npagemap 0 1\npagemap 0 2\n");
  EXPECT_EQ(st.dropped_no_process, 1u);
  EXPECT_EQ(st.dropped_too_many, 1u);
}

// Pages present in an aligned 2 MiB slot, then MADV_HUGEPAGE over it.
constexpr const char* kMadvisedAfterWrite =
    "mmap 512 512 rw anon private\n"
    "write 600\n"
    "madvise 512 512 hugepage\n"
    "pagemap 600 1\n";

TEST(KeepModelledTest, KeepsWhatKhugepagedCouldCollapse) {
  // khugepaged could collapse the pages behind the model's back; the
  // checker allows that (khugepaged-may-collapse), so the ops stay, with
  // the host's limits and with a guest's tamed ones.
  for (int max_ptes_none : {511, 0}) {
    KernelProfile prof = HostProfile618();
    prof.khugepaged_max_ptes_none = max_ptes_none;
    Program p = Parse(kMadvisedAfterWrite);
    RepairStats st;
    ASSERT_TRUE(KeepModelled(&p, prof, 60, &st));
    EXPECT_EQ(p.ops.size(), 4u) << PrintProgram(p);
    EXPECT_EQ(st.dropped(), 0u);
  }
}

TEST(KeepModelledTest, ClearsExpectations) {
  Program p = Parse("mmap 0 1 rw anon private => ok\nwrite 0 => ok\n");
  ASSERT_TRUE(KeepModelled(&p, HostProfile618(), 60, nullptr));
  ASSERT_EQ(p.expect.size(), 2u);
  EXPECT_EQ(p.expect[0].kind, ResultKind::kNone);
}

}  // namespace
}  // namespace mmdiff
