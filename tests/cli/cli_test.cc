// The built `mmdiff` binary as a user runs it: exit codes, usage text, error
// lines, SKIP and expectation reporting, on the running kernel.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

#include "tests/cli/run_mmdiff.h"

namespace {

using mmdiff::clitest::Output;
using mmdiff::clitest::Slurp;

std::vector<std::string> Lines(const std::string& text) {
  std::vector<std::string> lines;
  std::stringstream ss(text);
  for (std::string l; std::getline(ss, l);) lines.push_back(l);
  return lines;
}

// The annotated program: every line but the '# verdict' comment block.
std::vector<std::string> OpLines(const std::string& text) {
  std::vector<std::string> lines;
  for (const std::string& l : Lines(text))
    if (l.rfind("#", 0) != 0) lines.push_back(l);
  return lines;
}

class Cli : public mmdiff::clitest::TempDirSuite<Cli> {};

std::string Show(const Output& o) {
  return "status " + std::to_string(o.status) + "\n--- stdout:\n" + o.out + "--- stderr:\n" + o.err;
}

struct HelpCase {
  std::vector<std::string> args;
  const char* usage_prefix;
};

TEST_F(Cli, HelpExitsZeroWithUsage) {
  const HelpCase cases[] = {
      {{"--help"}, "usage: mmdiff COMMAND"},
      {{"-h"}, "usage: mmdiff COMMAND"},
      {{"run", "--help"}, "usage: mmdiff run"},
      {{"run", "-h"}, "usage: mmdiff run"},
      {{"probe", "--help"}, "usage: mmdiff probe"},
  };
  for (const HelpCase& c : cases) {
    SCOPED_TRACE(c.args[0] + (c.args.size() > 1 ? " " + c.args[1] : ""));
    Output o = Run(c.args);
    EXPECT_EQ(o.status, 0) << Show(o);
    EXPECT_EQ(o.out.rfind(c.usage_prefix, 0), 0u) << Show(o);
    EXPECT_EQ(o.err, "");
  }
  Output top = Run({"--help"});
  EXPECT_NE(top.out.find("run"), std::string::npos);
  EXPECT_NE(top.out.find("probe"), std::string::npos);
}

struct UsageErrorCase {
  std::vector<std::string> args;
  const char* stderr_part;
};

TEST_F(Cli, UsageErrorsExitTwo) {
  std::string prog = Write("ok.mmp", "mmap 0 1 rw anon private\n");
  const UsageErrorCase cases[] = {
      {{}, "usage: mmdiff"},
      {{"frobnicate"}, "unknown command 'frobnicate'"},
      {{"run"}, "expected one program file"},
      {{"run", "--bogus", prog}, "unknown option '--bogus'"},
      {{"run", prog, "--bogus"}, "unknown option '--bogus'"},
      {{"probe", "--bogus"}, "unknown option '--bogus'"},
      {{"run", "--target", "nosuch", prog}, "unknown target 'nosuch'"},
      {{"run", "--target=nosuch", prog}, "unknown target 'nosuch'"},
      {{"probe", "--target", "nosuch"}, "unknown target 'nosuch'"},
      {{"probe", "--guest", "5.10"}, "unknown guest '5.10' (known: 6.12, 6.1)"},
      {{"run", "--guest", "6.1", "--kernel", "bzImage", prog}, "--guest and --kernel"},
      {{"run", "--timeout", "0", prog}, "--timeout"},
      {{"run", "--timeout", "x", prog}, "--timeout"},
  };
  for (const UsageErrorCase& c : cases) {
    std::string line;
    for (const std::string& a : c.args) line += a + " ";
    SCOPED_TRACE("mmdiff " + line);
    Output o = Run(c.args);
    EXPECT_EQ(o.status, 2) << Show(o);
    EXPECT_NE(o.err.find(c.stderr_part), std::string::npos) << Show(o);
    EXPECT_EQ(o.out, "") << Show(o);
  }
}

struct MalformedCase {
  const char* text;
  int line, column;
  const char* token;
};

TEST_F(Cli, MalformedProgramGivesOneErrorLine) {
  const MalformedCase cases[] = {
      {"mmap 0 4 rw anon private\nwrite 0\nmmap 0 4 rw anon privat\n", 3, 18, "privat"},
      {"frob 1\n", 1, 1, "frob"},
      {"mmap 0 4 rw anon private\nwrite zz\n", 2, 7, "zz"},
      {"# comment\n\nread 0 => = zz\n", 3, 13, "zz"},
      {"scan 0 4 req=bogus\n", 1, 10, "req=bogus"},
  };
  int n = 0;
  for (const MalformedCase& c : cases) {
    SCOPED_TRACE(c.text);
    std::string path = Write("bad" + std::to_string(n++) + ".mmp", c.text);
    Output o = Run({"run", path});
    EXPECT_EQ(o.status, 2) << Show(o);
    EXPECT_EQ(o.out, "");
    // Exactly one line: FILE:LINE:COL: message: 'token'
    std::string prefix = path + ":" + std::to_string(c.line) + ":" + std::to_string(c.column) + ": ";
    EXPECT_EQ(Lines(o.err).size(), 1u) << o.err;
    EXPECT_EQ(o.err.rfind(prefix, 0), 0u) << o.err;
    std::string suffix = std::string(": '") + c.token + "'\n";
    ASSERT_GE(o.err.size(), prefix.size() + suffix.size()) << o.err;
    EXPECT_EQ(o.err.substr(o.err.size() - suffix.size()), suffix) << o.err;
    EXPECT_TRUE(std::regex_match(o.err, std::regex(R"([^:\n]+:[0-9]+:[0-9]+: [^\n]+: '[^\n]*'\n)"))) << o.err;
  }
}

TEST_F(Cli, MissingFileExitsTwo) {
  std::string path = dir_ + "/no-such-program.mmp";
  Output o = Run({"run", path});
  EXPECT_EQ(o.status, 2) << Show(o);
  EXPECT_EQ(o.out, "");
  EXPECT_EQ(Lines(o.err).size(), 1u) << o.err;
  EXPECT_NE(o.err.find(path), std::string::npos) << o.err;
  EXPECT_NE(o.err.find("No such file"), std::string::npos) << o.err;
}

TEST_F(Cli, RequiresMissingFeatureSkips) {
  // The host kernel lacks CONFIG_MEM_SOFT_DIRTY.
  std::string path = Write("sd.mmp", "requires soft_dirty\nmmap 0 1 rw anon private\nwrite 0\n");
  Output o = Run({"run", path});
  EXPECT_EQ(o.status, 0) << Show(o);
  EXPECT_TRUE(std::regex_match(o.out, std::regex("SKIP " + path + ": needs soft_dirty[^\n]*\n"))) << Show(o);
  EXPECT_EQ(o.out.find(" => "), std::string::npos) << "a skipped program ran:\n" << o.out;
}

TEST_F(Cli, WrongExpectationIsReported) {
  std::string path = Write("wrong.mmp",
                           "mmap 0 2 rw anon private => ok\n"
                           "write 0 => ok\n"
                           "read 0 => = 0x01\n"     // the token written is 0x02
                           "read 1 => = 0x00\n"
                           "pagemap 0 2 => P--X-? P----?\n"
                           "mmap 0 1 rw anon private => ok\n");  // EEXIST
  Output o = Run({"run", path});
  EXPECT_EQ(o.status, 1) << Show(o);
  std::vector<std::string> lines = OpLines(o.out);
  ASSERT_EQ(lines.size(), 6u) << o.out;
  EXPECT_NE(o.out.find("\n# verdict: EXPECTATION op=2 \"read 0\" kernel: observed=\"= 0x02\" expected=\"= 0x01\"\n"),
            std::string::npos) << o.out;
  EXPECT_EQ(lines[2], "read 0 => = 0x02  # expected: = 0x01");
  EXPECT_EQ(lines[5], "mmap 0 1 rw anon private => err EEXIST  # expected: ok");
  for (int i : {0, 1, 3, 4}) EXPECT_EQ(lines[i].find("# expected:"), std::string::npos) << lines[i];
  EXPECT_NE(o.err.find("2 result(s) differ"), std::string::npos) << o.err;
}

TEST_F(Cli, CorpusProgramPasses) {
  Output o = Run({"run", "corpus/anon_write_clear_refs.mmp"}, MMDIFF_SOURCE_DIR);
  EXPECT_EQ(o.status, 0) << Show(o);
  std::vector<std::string> lines = OpLines(o.out);
  EXPECT_EQ(lines.size(), 5u) << o.out;
  EXPECT_NE(o.out.find("\n# verdict: PASS\n"), std::string::npos) << o.out;
  for (const std::string& l : lines) {
    EXPECT_NE(l.find(" => "), std::string::npos) << l;
    EXPECT_EQ(l.find("# expected"), std::string::npos) << l;
  }
  EXPECT_EQ(o.err, "");
}

// 1 GiB populated with 20 ms of --timeout: the populate faults all along, so
// it is slow, not stuck: killed at 4 x 20 ms, its op shows the hang, the
// verdict is LIMIT time (not a divergence) and the run is incomplete (exit 1).
TEST_F(Cli, SlowProgramIsATimeLimitWithExitOne) {
  std::string path = Write("hang.mmp",
                           "mmap 0 262144 rw anon private\n"
                           "madvise 0 262144 populate_write\n"
                           "write 0\n");
  Output o;
  // Under load 20 ms can pass before the mmap is done (then it is the hang):
  // retry for a run that reached the madvise.
  for (int attempt = 0; attempt < 5; attempt++) {
    o = Run({"run", "--timeout", "20", path});
    if (o.out.rfind("mmap 0 262144 rw anon private => ok\n", 0) == 0) break;
  }
  EXPECT_EQ(o.status, 1) << Show(o);
  std::vector<std::string> lines = OpLines(o.out);
  ASSERT_EQ(lines.size(), 3u) << o.out;
  EXPECT_NE(o.out.find("\n# verdict: LIMIT time: op 1 "), std::string::npos) << o.out;
  EXPECT_EQ(lines[1], "madvise 0 262144 populate_write => hang");
  EXPECT_EQ(lines[2], "write 0");  // never ran: no result
  EXPECT_NE(o.err.find("did not complete"), std::string::npos) << o.err;
}

// repro --run: the C built and run on the kernel, its verdict as the exit code.
TEST_F(Cli, ReproRunBuildsAndRunsTheReproducer) {
  Output o = Run({"repro", "corpus/anon_write_clear_refs.mmp", "--run"}, MMDIFF_SOURCE_DIR);
  EXPECT_EQ(o.status, 0) << Show(o);
  EXPECT_EQ(o.out, "PASS\n") << Show(o);  // the C itself is not printed with --run
  EXPECT_NE(o.err.find("repro: ran on kernel "), std::string::npos) << Show(o);

  o = Run({"repro", "corpus/anon_write_clear_refs.mmp", "--run", "--target", "model"}, MMDIFF_SOURCE_DIR);
  EXPECT_EQ(o.status, 2) << Show(o);
  EXPECT_EQ(o.err, "mmdiff repro: --run needs a kernel: --target local or --target qemu\n");

  if (access("/sys/kernel/mm/transparent_hugepage/enabled", R_OK) != 0) GTEST_SKIP() << "no THP";
  // This kernel's quirk huge_zero_page_pagemap_file, not allowed: a FAIL.
  std::string c = dir_ + "/quirk.c";
  o = Run({"repro", "corpus/quirks/huge_zero_page_pagemap_file.mmp", "--no-quirks", "--run", "-o", c},
          MMDIFF_SOURCE_DIR);
  EXPECT_EQ(o.status, 1) << Show(o);
  EXPECT_EQ(o.out.rfind("FAIL: page 0: file/shared-anon is 1 after a read at step 3", 0), 0u) << Show(o);
  EXPECT_NE(Slurp(c).find("int main(void)"), std::string::npos);
}

TEST_F(Cli, ProbeListsHostFeatures) {
  Output o = Run({"probe"});
  EXPECT_EQ(o.status, 0) << Show(o);
  for (const char* line : {"soft_dirty: no", "uffd_wp: yes", "wp_async: yes", "wp_unpopulated: yes",
                           "pagemap_scan: yes", "guard: yes"})
    EXPECT_NE(o.out.find(std::string("\n") + line + "\n"), std::string::npos) << line << "\n" << o.out;
}

}  // namespace
