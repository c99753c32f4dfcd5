// mmdiff fuzz and merge, run as a user runs them, on the local kernel.
#include <dirent.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "tests/campaign/campaign_util.h"
#include "tests/scoped_child.h"
#include "tests/temp_dir.h"

namespace {

using namespace campaigntest;
namespace testutil = mmdiff::testutil;

struct Output {
  int status = -1;
  std::string out, err;
};

// Runs mmdiff with `args`; `interrupt_after_s` > 0 sends SIGINT after that long.
Output Mmdiff(const std::vector<std::string>& args, int interrupt_after_s = 0) {
  // Its stdout and stderr, through files of this call's own (a test may run
  // two at once), removed when they are read.
  testutil::TempDir io{"mmdiff-output"};
  std::string out_path = io.path("out"), err_path = io.path("err");
  pid_t pid = StartMmdiff(args, out_path, err_path);
  if (interrupt_after_s > 0) {
    sleep(interrupt_after_s);
    kill(pid, SIGINT);
  }
  int status;
  waitpid(pid, &status, 0);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, Slurp(out_path), Slurp(err_path)};
}

// A test's campaign directories, removed with everything in them when the
// test ends, after its campaigns: Mmdiff waits for each, and a Background
// is stopped with the test's body, before the fixture goes.
class WithTempDir {
 protected:
  // A path in the test's directory, not made yet (as a new --out).
  std::string FreshDir(const std::string& name) const { return tmp_.path(name); }

 private:
  testutil::TempDir tmp_{"mmdiff-campaign-test"};
};

class Campaign : public testing::Test, public WithTempDir {};

// Every finding directory that has meta.txt (written last) is complete.
void ExpectFindingsComplete(const std::string& dir) {
  for (const char* sub : {"findings", "flaky"})
    for (const std::string& name : List(dir + "/" + sub)) {
      std::string entry = dir + "/" + sub + "/" + name;
      if (access((entry + "/meta.txt").c_str(), F_OK) != 0) continue;
      EXPECT_EQ(access((entry + "/program.mmp").c_str(), F_OK), 0) << entry;
      EXPECT_EQ(access((entry + "/divergence.txt").c_str(), F_OK), 0) << entry;
      EXPECT_NE(Slurp(entry + "/meta.txt").find("hits: "), std::string::npos) << entry;
    }
}

TEST_F(Campaign, RunsResumesAndMerges) {
  std::string out = FreshDir("campaign");
  Output first = Mmdiff({"fuzz", "--out", out, "--execs", "150", "--seed", "3"});
  ASSERT_EQ(first.status, 0) << first.err;
  EXPECT_NE(first.out.find("execs "), std::string::npos) << first.out;
  std::string stats = Slurp(out + "/stats.json");
  EXPECT_NE(stats.find("\"execs\": "), std::string::npos) << stats;
  EXPECT_NE(stats.find("\"coverage\": "), std::string::npos) << stats;
  size_t corpus = List(out + "/corpus").size();
  EXPECT_GT(corpus, 0u) << "programs with new model-state coverage are kept";
  ExpectFindingsComplete(out);

  // Same --out: the corpus of the first run is triaged again.
  Output second = Mmdiff({"fuzz", "--out", out, "--execs", "20", "--seed", "4", "--corpus", out + "/corpus"});
  ASSERT_EQ(second.status, 0) << second.err;
  EXPECT_NE(second.err.find("from an earlier run"), std::string::npos) << second.err;

  std::string merged = FreshDir("merged");
  Output merge = Mmdiff({"merge", "-o", merged, out, out});
  ASSERT_EQ(merge.status, 0) << merge.err;
  EXPECT_EQ(List(merged + "/findings").size(), List(out + "/findings").size());
  EXPECT_NE(merge.out.find("merged 2 directories"), std::string::npos) << merge.out;
}

// Kernel coverage where the kernel has none (the host: no KCOV): a
// campaign runs as before, --no-kcov or not, and its map counts no kernel
// edges.
TEST_F(Campaign, NoKcovOnAKernelWithoutKcovChangesNothing) {
  if (access("/sys/kernel/debug/kcov", F_OK) == 0) GTEST_SKIP() << "this kernel has KCOV";
  Output help = Mmdiff({"fuzz", "--help"});
  EXPECT_NE(help.out.find("--no-kcov"), std::string::npos);
  std::string with = FreshDir("kcov-default"), without = FreshDir("kcov-off"), empty = FreshDir("kcov-seeds");
  ASSERT_EQ(mkdir(empty.c_str(), 0755), 0);
  Output a = Mmdiff({"fuzz", "--out", with, "--execs", "40", "--seed", "11", "--corpus", empty});
  Output b = Mmdiff({"fuzz", "--out", without, "--execs", "40", "--seed", "11", "--no-kcov", "--corpus", empty});
  ASSERT_EQ(a.status, 0) << a.err;
  ASSERT_EQ(b.status, 0) << b.err;
  EXPECT_NE(Slurp(with + "/stats.json").find("\"kernel_coverage\": 0"), std::string::npos);
  EXPECT_NE(Slurp(without + "/stats.json").find("\"kernel_coverage\": 0"), std::string::npos);
  EXPECT_FALSE(List(with + "/corpus").empty()) << "model-state coverage still keeps programs";
  EXPECT_FALSE(List(without + "/corpus").empty());
  EXPECT_EQ(a.err.find("kcov "), std::string::npos) << "no kcov count on the status line";
}

TEST_F(Campaign, CtrlCKeepsEverythingWhole) {
  std::string out = FreshDir("interrupted");
  Output o = Mmdiff({"fuzz", "--out", out, "--seed", "5"}, /*interrupt_after_s=*/6);
  EXPECT_EQ(o.status, 0) << o.err;
  EXPECT_NE(o.err.find("done:"), std::string::npos) << o.err;
  EXPECT_NE(Slurp(out + "/stats.json").find("\"execs\""), std::string::npos);
  ExpectFindingsComplete(out);
}

// The self-test of the whole pipeline: a campaign on this (correct) kernel,
// against a model with one rule broken, finds that rule as a divergence. No
// seed corpus: the generator and mutator must get there on their own.
class MutantFound : public testing::TestWithParam<const char*>, public WithTempDir {};

TEST_P(MutantFound, WithinSixtySeconds) {
  std::string out = FreshDir(std::string("mutant-") + GetParam());
  std::string empty = FreshDir("empty-corpus");
  mkdir(empty.c_str(), 0755);
  time_t start = time(nullptr);
  Output o = Mmdiff({"fuzz", "--model-mutant", GetParam(), "--until-found", "--minutes", "1", "--seed", "1",
                     "--corpus", empty, "--out", out});
  time_t took = time(nullptr) - start;
  ASSERT_EQ(o.status, 1) << o.err;  // a confirmed finding, as libFuzzer exits for CI
  EXPECT_LE(took, 90);               // found within the minute, then minimized
  std::vector<std::string> found = List(out + "/findings");
  ASSERT_FALSE(found.empty()) << "not found in " << took << " s:\n" << o.err;
  EXPECT_NE(o.err.find("new finding"), std::string::npos) << o.err;
  // --until-found waited for the minimizer, and every artefact says self-test.
  std::string d = out + "/findings/" + found[0];
  std::string label = std::string("model mutant ") + GetParam();
  EXPECT_NE(Slurp(d + "/min.mmp").find("# " + label), std::string::npos) << Slurp(d + "/min.mmp");
  std::string repro = Slurp(d + "/repro.c");
  EXPECT_EQ(repro.substr(0, repro.find('\n')).find("mmdiff reproducer of " + label + " (a SELF-TEST, not a kernel bug)"), 3u)
      << repro;
  EXPECT_NE(Slurp(d + "/meta.txt").find(std::string("mutant: ") + GetParam()), std::string::npos);
  EXPECT_EQ(Slurp(d + "/report.txt").rfind(std::string("Subject: [SELF-TEST model mutant ") + GetParam(), 0), 0u);
}

// clear-refs-keeps-soft-dirty needs a kernel with soft-dirty (the guest).
INSTANTIATE_TEST_SUITE_P(LocalKernel, MutantFound,
                         testing::Values("fork-drops-uffd-wp", "async-write-keeps-wp", "dontneed-keeps-anon",
                                         "cow-write-shares-page", "scan-ignores-max-pages"));

// Kernel against kernel, the host and the Debian 6.1 guest, on the quirk
// uffd_unregister_other_ctx (6.1 unregisters through another context, the
// host answers EINVAL): with the quirk known, 6.1's model allows its answer
// and the difference is explained; without (--no-quirks) only the host's
// model allows its answer, and the difference is the finding kernel-differs
// naming both kernels, with both traces in report.txt. One boot each.
TEST_F(Campaign, KernelAgainstKernelFindsWhatOneModelAllows) {
  std::string seeds = FreshDir("kernel-seeds");
  mkdir(seeds.c_str(), 0755);
  std::string quirk = Slurp(std::string(MMDIFF_SOURCE_DIR) + "/corpus/quirks/uffd_unregister_other_ctx.mmp");
  ASSERT_FALSE(quirk.empty());
  std::ofstream(seeds + "/quirk.mmp") << quirk;
  for (bool quirks : {true, false}) {
    std::string out = FreshDir(quirks ? "kernels-quirks" : "kernels-no-quirks");
    std::vector<std::string> args = {"fuzz", "--target", "local", "--guest", "6.1", "--corpus", seeds, "--execs", "1",
                                     "--no-minimize", "--seed", "1", "--out", out};
    if (!quirks) args.push_back("--no-quirks");
    Output o = Mmdiff(args);
    std::string stats = Slurp(out + "/stats.json");
    EXPECT_NE(stats.find("\"kernel_compare_checks\": 1,"), std::string::npos) << stats << o.err;
    std::vector<std::string> differs;
    for (const std::string& name : List(out + "/findings"))
      if (name.rfind("kernel-differs-", 0) == 0) differs.push_back(name);
    if (quirks) {
      EXPECT_EQ(o.status, 0) << o.err;
      EXPECT_NE(stats.find("\"kernel_compare_explained\": 1,"), std::string::npos) << stats;
      EXPECT_TRUE(differs.empty()) << o.err;
      continue;
    }
    EXPECT_EQ(o.status, 1) << o.err;
    ASSERT_EQ(differs.size(), 1u) << o.err;
    std::string report = Slurp(out + "/findings/" + differs[0] + "/report.txt");
    EXPECT_NE(report.find("DIVERGENCE kernel-differs op=5 \"uffd_unregister 0 4\" A=host ("), std::string::npos)
        << report;
    EXPECT_NE(report.find("B=guest 6.1 ("), std::string::npos) << report;
    EXPECT_NE(report.find("(model allows: A only)"), std::string::npos) << report;
    EXPECT_NE(report.find("    A => err EINVAL\n    B => ok    <<< the first difference"), std::string::npos) << report;
  }
}

TEST_F(Campaign, RejectsBadFlags) {
  EXPECT_EQ(Mmdiff({"fuzz", "--execs", "x"}).status, 2);
  EXPECT_EQ(Mmdiff({"fuzz", "--target", "model"}).status, 2);
  EXPECT_EQ(Mmdiff({"fuzz", "--vms", "2"}).status, 2);
  Output help = Mmdiff({"fuzz", "--help"});
  EXPECT_EQ(help.status, 0);
  EXPECT_NE(help.out.find("usage: mmdiff fuzz"), std::string::npos);
  EXPECT_EQ(Mmdiff({"merge", "-o", FreshDir("merged"), "/nonexistent"}).status, 2);
  EXPECT_EQ(Mmdiff({"fuzz", "--model-mutant", "no-such-rule", "--execs", "1"}).status, 2);
  Output three = Mmdiff({"fuzz", "--guest", "6.1", "--guest", "6.12", "--kernel", "/bzImage", "--execs", "1"});
  EXPECT_EQ(three.status, 2);
  EXPECT_EQ(three.err, "mmdiff fuzz: compare two kernels at most: '--kernel /bzImage' is a third\n");
}

}  // namespace

namespace {

class CampaignCollisions : public testing::Test, public WithTempDir {};

// A campaign started in the background; Wait() interrupts it and reaps it.
// A test that ends before (a failed ASSERT) interrupts it all the same.
struct Background {
  explicit Background(const std::vector<std::string>& args)
      : child(StartMmdiff(args, "/dev/null", "/dev/null"), SIGINT) {}
  int Wait() {
    kill(child.pid(), SIGINT);
    int status;
    waitpid(child.pid(), &status, 0);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  }
  testutil::ScopedChild child;
};

std::string JsonString(const std::string& json, const std::string& key) {
  size_t at = json.find("\"" + key + "\": \"");
  if (at == std::string::npos) return "";
  at += key.size() + 5;
  return json.substr(at, json.find('"', at) - at);
}

std::string SeedOf(const std::string& err) {
  size_t at = err.find("seed ");
  return at == std::string::npos ? "" : err.substr(at + 5, err.find(',', at) - at - 5);
}

bool IsIsoUtc(const std::string& s) {
  struct tm tm = {};
  const char* end = strptime(s.c_str(), "%Y-%m-%dT%H:%M:%SZ", &tm);
  return end && !*end;
}

}  // namespace

// Two campaigns started in the same second draw different seeds.
TEST_F(CampaignCollisions, SeedsComeFromGetrandom) {
  std::string a = FreshDir("seed-a"), b = FreshDir("seed-b");
  Output oa, ob;
  std::thread ta([&] { oa = Mmdiff({"fuzz", "--out", a, "--execs", "5", "--no-minimize"}); });
  ob = Mmdiff({"fuzz", "--out", b, "--execs", "5", "--no-minimize"});
  ta.join();
  ASSERT_EQ(oa.status, 0) << oa.err;
  ASSERT_EQ(ob.status, 0) << ob.err;
  ASSERT_FALSE(SeedOf(oa.err).empty()) << oa.err;
  EXPECT_NE(SeedOf(oa.err), SeedOf(ob.err));
}

// A second campaign on a directory in use refuses with a clear line and 2.
TEST_F(CampaignCollisions, OneCampaignPerOutDir) {
  std::string out = FreshDir("locked");
  Background first({"fuzz", "--out", out, "--minutes", "1", "--no-minimize"});
  // The corpus directory is made after the lock is taken.
  for (int i = 0; i < 300 && access((out + "/corpus").c_str(), F_OK) != 0; i++) usleep(100 * 1000);
  Output second = Mmdiff({"fuzz", "--out", out, "--execs", "5", "--no-minimize"});
  Output cmin = Mmdiff({"fuzz", "--out", out, "--minimize-corpus"});
  EXPECT_EQ(first.Wait(), 0);
  EXPECT_EQ(second.status, 2) << second.err;
  EXPECT_NE(second.err.find("in use by another campaign"), std::string::npos) << second.err;
  EXPECT_EQ(cmin.status, 2) << cmin.err;
  // Released when the first one ends.
  Output third = Mmdiff({"fuzz", "--out", out, "--execs", "5", "--no-minimize"});
  EXPECT_EQ(third.status, 0) << third.err;
}

// --execs N runs exactly N programs (triage and confirmations included); a
// resumed campaign continues execs, elapsed and start time, and its corpus
// count is the files on disk; stats.json has its times in ISO 8601 UTC.
TEST_F(CampaignCollisions, ExactExecsAndResumedCounts) {
  std::string out = FreshDir("resume");
  Output first = Mmdiff({"fuzz", "--out", out, "--execs", "37", "--no-minimize"});
  ASSERT_EQ(first.status, 0) << first.err;
  std::string s1 = Slurp(out + "/stats.json");
  EXPECT_EQ(JsonNumber(s1, "execs"), 37) << s1;
  EXPECT_TRUE(IsIsoUtc(JsonString(s1, "started"))) << s1;
  EXPECT_TRUE(IsIsoUtc(JsonString(s1, "updated"))) << s1;
  EXPECT_NE(s1.find("\"last_new_finding\": "), std::string::npos) << s1;

  Output second = Mmdiff({"fuzz", "--out", out, "--execs", "120", "--no-minimize"});
  ASSERT_EQ(second.status, 0) << second.err;
  std::string s2 = Slurp(out + "/stats.json");
  EXPECT_EQ(JsonNumber(s2, "execs"), 157) << s2;
  EXPECT_EQ(JsonString(s2, "started"), JsonString(s1, "started"));
  EXPECT_GE(std::stod(s2.substr(s2.find("\"elapsed_s\": ") + 13)), std::stod(s1.substr(s1.find("\"elapsed_s\": ") + 13)));
  EXPECT_EQ(JsonNumber(s2, "corpus"), static_cast<long long>(List(out + "/corpus").size())) << s2;
  EXPECT_NE(second.out.find("execs 157 "), std::string::npos) << second.out;
}

// What a campaign judged: stats.json, the status line and the summary name
// the programs judged, the unmodelled ones by reason, and every allowance.
TEST_F(CampaignCollisions, ReportsWhatWasJudged) {
  std::string out = FreshDir("judged");
  Output o = Mmdiff({"fuzz", "--out", out, "--execs", "150", "--no-minimize"});
  ASSERT_EQ(o.status, 0) << o.err;
  std::string s = Slurp(out + "/stats.json");
  long long judged = JsonNumber(s, "judged");
  EXPECT_GT(judged, 0) << s;
  EXPECT_LE(judged, 150) << s;
  EXPECT_NE(s.find("\"unmodelled\": {"), std::string::npos) << s;
  for (const char* name : {"page-table-may-be-reclaimed", "lazyfree-may-be-discarded", "fault-around-may-map",
                           "reclaim-may-unmap"})
    EXPECT_NE(s.find(std::string("\"") + name + "\": {\"granted\": "), std::string::npos) << name << "\n" << s;
  // Every program run by the campaign is judged, unmodelled or a limit,
  // except confirmation re-runs of a divergence.
  long long unmodelled = 0;
  size_t at = s.find("\"unmodelled\": {") + 15;
  for (size_t colon; (colon = s.find("\": ", at)) != std::string::npos && colon < s.find('}', at);
       at = s.find_first_of(",}", colon + 3)) {
    unmodelled += std::stoll(s.substr(colon + 3));
  }
  EXPECT_LE(judged + unmodelled + JsonNumber(s, "limits"), 150);
  EXPECT_GE(judged + unmodelled + JsonNumber(s, "limits") + 3 * JsonNumber(s, "divergences"), 150) << s;
  EXPECT_NE(o.out.find("judged " + std::to_string(judged) + " "), std::string::npos) << o.out;
  EXPECT_NE(o.out.find("judged " + std::to_string(judged) + " programs, " + std::to_string(unmodelled) +
                       " unmodelled"),
            std::string::npos)
      << o.out;
}

// --minimize-corpus keeps a smaller set with the same coverage and loses no
// program: the others move to corpus.removed/.
TEST_F(CampaignCollisions, MinimizeCorpusKeepsCoverage) {
  std::string out = FreshDir("cmin");
  Output o = Mmdiff({"fuzz", "--out", out, "--execs", "400", "--no-minimize"});
  ASSERT_EQ(o.status, 0) << o.err;
  size_t before = List(out + "/corpus").size();
  ASSERT_GT(before, 10u);
  Output m = Mmdiff({"fuzz", "--out", out, "--minimize-corpus"});
  ASSERT_EQ(m.status, 0) << m.err;
  size_t after = List(out + "/corpus").size();
  EXPECT_NE(m.out.find("corpus: " + std::to_string(before) + " -> " + std::to_string(after) + " programs"),
            std::string::npos)
      << m.out;
  EXPECT_LT(after, before) << m.out;
  EXPECT_GT(after, 0u);
  EXPECT_EQ(List(out + "/corpus.removed").size(), before - after);
  Output help = Mmdiff({"fuzz", "--help"});
  EXPECT_NE(help.out.find("--minimize-corpus"), std::string::npos);
}
