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
#include <vector>

#include <gtest/gtest.h>

namespace {

struct Output {
  int status = -1;
  std::string out, err;
};

std::string Slurp(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Runs mmdiff with `args`; `interrupt_after_s` > 0 sends SIGINT after that long.
Output Mmdiff(const std::vector<std::string>& args, int interrupt_after_s = 0) {
  std::string dir = testing::TempDir();
  // Per process: ctest runs these tests in parallel, each in its own process.
  std::string tag = std::to_string(getpid());
  std::string out_path = dir + "/mmdiff." + tag + ".out", err_path = dir + "/mmdiff." + tag + ".err";
  pid_t pid = fork();
  if (pid == 0) {
    freopen(out_path.c_str(), "w", stdout);
    freopen(err_path.c_str(), "w", stderr);
    std::vector<char*> argv{const_cast<char*>(MMDIFF_BINARY)};
    for (const std::string& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    execv(MMDIFF_BINARY, argv.data());
    _exit(127);
  }
  if (interrupt_after_s > 0) {
    sleep(interrupt_after_s);
    kill(pid, SIGINT);
  }
  int status;
  waitpid(pid, &status, 0);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, Slurp(out_path), Slurp(err_path)};
}

std::vector<std::string> List(const std::string& dir) {
  std::vector<std::string> out;
  if (DIR* d = opendir(dir.c_str())) {
    while (dirent* e = readdir(d))
      if (e->d_name[0] != '.') out.push_back(e->d_name);
    closedir(d);
  }
  return out;
}

std::string FreshDir(const std::string& name) {
  std::string d = testing::TempDir() + "/" + name + "." + std::to_string(getpid());
  std::string rm = "rm -rf '" + d + "'";
  if (system(rm.c_str()) != 0) ADD_FAILURE() << rm;
  return d;
}

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

TEST(Campaign, RunsResumesAndMerges) {
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

TEST(Campaign, CtrlCKeepsEverythingWhole) {
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
class MutantFound : public testing::TestWithParam<const char*> {};

TEST_P(MutantFound, WithinSixtySeconds) {
  std::string out = FreshDir(std::string("mutant-") + GetParam());
  std::string empty = FreshDir("empty-corpus");
  mkdir(empty.c_str(), 0755);
  time_t start = time(nullptr);
  Output o = Mmdiff({"fuzz", "--model-mutant", GetParam(), "--until-found", "--minutes", "1", "--seed", "1",
                     "--corpus", empty, "--out", out});
  time_t took = time(nullptr) - start;
  ASSERT_EQ(o.status, 0) << o.err;
  EXPECT_LE(took, 60);
  EXPECT_FALSE(List(out + "/findings").empty()) << "not found in " << took << " s:\n" << o.err;
  EXPECT_NE(o.err.find("new finding"), std::string::npos) << o.err;
}

// clear-refs-keeps-soft-dirty needs a kernel with soft-dirty (the guest).
INSTANTIATE_TEST_SUITE_P(LocalKernel, MutantFound,
                         testing::Values("fork-drops-uffd-wp", "async-write-keeps-wp", "dontneed-keeps-anon",
                                         "cow-write-shares-page", "scan-ignores-max-pages"));

TEST(Campaign, RejectsBadFlags) {
  EXPECT_EQ(Mmdiff({"fuzz", "--execs", "x"}).status, 2);
  EXPECT_EQ(Mmdiff({"fuzz", "--target", "model"}).status, 2);
  EXPECT_EQ(Mmdiff({"fuzz", "--vms", "2"}).status, 2);
  Output help = Mmdiff({"fuzz", "--help"});
  EXPECT_EQ(help.status, 0);
  EXPECT_NE(help.out.find("usage: mmdiff fuzz"), std::string::npos);
  EXPECT_EQ(Mmdiff({"merge", "-o", "/tmp/x", "/nonexistent"}).status, 2);
  EXPECT_EQ(Mmdiff({"fuzz", "--model-mutant", "no-such-rule", "--execs", "1"}).status, 2);
}

}  // namespace
