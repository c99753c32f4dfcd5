// The exit status of every command that judges a program, and what a bad
// input gets: 0 pass, 1 a divergence or finding, 2 bad usage or input (one
// printable line, quickly, whatever the input is: a directory, an empty
// file, binary bytes, an endless device or pipe).
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <regex>
#include <string>
#include <vector>

#include "tests/cli/run_mmdiff.h"

namespace {

namespace fs = std::filesystem;
using mmdiff::clitest::Output;
using std::string_literals::operator""s;

class ExitCodes : public mmdiff::clitest::TempDirSuite<ExitCodes> {
 protected:
  // `command` through sh, with MMDIFF for the binary: for pipes.
  static Output Shell(const std::string& command) {
    return mmdiff::clitest::RunMmdiff({}, dir_, {"/bin/sh", "-c", "MMDIFF=" MMDIFF_BIN "; " + command});
  }
};

std::string Show(const Output& o) {
  return "status " + std::to_string(o.status) + "\n--- stdout:\n" + o.out + "--- stderr:\n" + o.err.substr(0, 2000);
}

bool OnePrintableLine(const std::string& s) {
  if (s.empty() || s.back() != '\n') return false;
  for (size_t i = 0; i + 1 < s.size(); i++)
    if (static_cast<unsigned char>(s[i]) < 0x20 || static_cast<unsigned char>(s[i]) >= 0x7f) return false;
  return true;
}

struct BadInput {
  std::string path;
  std::string message;
};

TEST_F(ExitCodes, BadInputIsOneLineAndExitTwo) {
  const BadInput cases[] = {
      {dir_, "is a directory, not a program"},
      {Write("empty.mmp", ""), "empty file: a program needs at least one op"},
      {Write("comments.mmp", "# nothing here\n"), "no ops (only comments or blank lines)"},
      {Write("nul.mmp", "mmap 0 1 rw anon private\nwrite\0 0\n"s), ":2:6: not a text program: a NUL byte: '\\x00'"},
      {Write("esc.mmp", "write 0 \x1b[31m\n"), ":1:9: not a text program: a control character: '\\x1b'"},
      {"/dev/zero", "/dev/zero:1:1: not a text program: a NUL byte: '\\x00'"},
      {"/dev/urandom", "/dev/urandom:"},
      {Write("long.mmp", "write " + std::string(10 << 20, 'z') + "\n"), "'" + std::string(40, 'z') + "...'"},
  };
  for (const BadInput& c : cases) {
    SCOPED_TRACE(c.path);
    for (const char* cmd : {"run", "minimize", "repro", "report"}) {
      SCOPED_TRACE(cmd);
      auto start = std::chrono::steady_clock::now();
      Output o = Run({cmd, c.path});
      double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      EXPECT_EQ(o.status, 2) << Show(o);
      EXPECT_EQ(o.out, "") << Show(o);
      EXPECT_TRUE(OnePrintableLine(o.err)) << Show(o);
      EXPECT_LT(o.err.size(), 300u) << Show(o);
      EXPECT_NE(o.err.find(c.message), std::string::npos) << Show(o);
      EXPECT_LT(seconds, 30.0) << "not bounded";
    }
  }
}

// An endless stream is read up to the size cap, not to the end.
TEST_F(ExitCodes, EndlessPipeIsRefused) {
  Output o = Shell("yes 'pagemap 0 1' | \"$MMDIFF\" run /dev/stdin");
  EXPECT_EQ(o.status, 2) << Show(o);
  EXPECT_EQ(o.err, "/dev/stdin: larger than 16 MiB: not a program\n") << Show(o);
}

TEST_F(ExitCodes, CheckWithAnUnreadableProgramExitsTwoAndChecksTheOthers) {
  fs::create_directory(dir_ + "/mixed");
  std::ofstream(dir_ + "/mixed/a_good.mmp") << "mmap 0 1 rw anon private => ok\nwrite 0 => ok\n";
  std::ofstream(dir_ + "/mixed/b_bad.mmp") << "mmap 0 1 rw anon privat\n";
  std::ofstream(dir_ + "/mixed/c_good.mmp") << "mmap 0 2 rw anon private => ok\n";
  Output o = Run({"check", dir_ + "/mixed"});
  EXPECT_EQ(o.status, 2) << Show(o);
  EXPECT_NE(o.out.find("PASS " + dir_ + "/mixed/a_good.mmp\n"), std::string::npos) << Show(o);
  EXPECT_NE(o.out.find("PASS " + dir_ + "/mixed/c_good.mmp\n"), std::string::npos) << Show(o);
  EXPECT_NE(o.out.find("ERROR " + dir_ + "/mixed/b_bad.mmp:1:18: "), std::string::npos) << Show(o);
  EXPECT_NE(o.out.find("2 passed, 0 failed, 0 skipped, 1 not readable as programs\n"), std::string::npos) << Show(o);
  Output good = Run({"check", dir_ + "/mixed/a_good.mmp", dir_ + "/mixed/c_good.mmp"});
  EXPECT_EQ(good.status, 0) << Show(good);
  std::string wrong = Write("wrong.mmp", "mmap 0 1 rw anon private => ok\nwrite 0 => ok\npagemap 0 1 => ------\n");
  Output failed = Run({"check", wrong});
  EXPECT_EQ(failed.status, 1) << Show(failed);
  EXPECT_NE(failed.out.find("FAIL " + wrong + ": EXPECTATION op=2"), std::string::npos) << Show(failed);
}

// Nothing to minimize, reproduce or report in a program that passes: bad
// input for each of them alike.
TEST_F(ExitCodes, PassingProgramIsBadInputForMinimizeReproReport) {
  std::string pass = Write("pass.mmp", "mmap 0 1 rw anon private\nwrite 0\n");
  for (const char* cmd : {"minimize", "repro", "report"}) {
    SCOPED_TRACE(cmd);
    Output o = Run({cmd, pass});
    EXPECT_EQ(o.status, 2) << Show(o);
    EXPECT_EQ(o.out, "") << Show(o);
  }
  Output run = Run({"run", pass});
  EXPECT_EQ(run.status, 0) << Show(run);
  EXPECT_NE(run.out.find("# verdict: PASS\n"), std::string::npos) << Show(run);
}

// A program that fails is what they work on: exit 0 once written.
TEST_F(ExitCodes, FailingProgramIsWorkForMinimizeReproReport) {
  std::string wrong = Write("fails.mmp", "mmap 0 2 rw anon private => ok\nwrite 0 => ok\npagemap 0 1 => ------\n");
  const std::vector<std::string> cases[] = {
      {"minimize", "--target", "model", wrong},
      {"repro", "--target", "model", wrong},
      {"report", "--runs", "1", wrong},
  };
  for (const auto& args : cases) {
    SCOPED_TRACE(args[0]);
    Output o = Run(args);
    EXPECT_EQ(o.status, 0) << Show(o);
    EXPECT_NE(o.out, "") << Show(o);
  }
  Output run = Run({"run", wrong});
  EXPECT_EQ(run.status, 1) << Show(run);
}

// A known quirk on this kernel: a pass naming it (exit 0); with --no-quirks
// a divergence (exit 1), in run as in check.
TEST_F(ExitCodes, KnownQuirkPassesNamedAndFailsWithNoQuirks) {
  std::string quirks = std::string(MMDIFF_SOURCE_DIR) + "/corpus/quirks";
  Output check = Run({"check", quirks});
  std::smatch m;
  std::string program;
  std::regex pass_line("PASS (\\S+) \\(known quirk [a-z_, ]+\\)");
  if (std::regex_search(check.out, m, pass_line)) program = m[1].str();
  if (program.empty()) GTEST_SKIP() << "this kernel has none of the known quirks:\n" << check.out;
  Output run = Run({"run", program});
  EXPECT_EQ(run.status, 0) << Show(run);
  EXPECT_TRUE(std::regex_search(run.out, std::regex("\n# verdict: PASS \\(known quirk [a-z_, ]+\\)\n"))) << Show(run);
  Output strict = Run({"run", "--no-quirks", program});
  EXPECT_EQ(strict.status, 1) << Show(strict);
  // The quirk's answer against the model, or against the program's own
  // expectations (the contract), which the judgement checks first.
  EXPECT_TRUE(std::regex_search(strict.out, std::regex("\n# verdict: (DIVERGENCE|EXPECTATION) "))) << Show(strict);
  Output strict_check = Run({"check", "--no-quirks", program});
  EXPECT_EQ(strict_check.status, 1) << Show(strict_check);
  EXPECT_EQ(strict_check.out.rfind("FAIL " + program + ": ", 0), 0u) << Show(strict_check);
}

// Every command that judges takes --no-quirks.
TEST_F(ExitCodes, NoQuirksIsAnOptionOfEveryJudgingCommand) {
  for (const char* cmd : {"run", "check", "minimize", "repro", "report", "fuzz"}) {
    SCOPED_TRACE(cmd);
    Output o = Run({cmd, "--help"});
    EXPECT_EQ(o.status, 0) << Show(o);
    EXPECT_NE(o.out.find("--no-quirks"), std::string::npos) << Show(o);
    Output bad = Run({cmd, "--no-quirks", "--target", "nosuch", dir_ + "/nothing.mmp"});
    EXPECT_EQ(bad.status, 2);
    EXPECT_EQ(bad.err.find("unknown option"), std::string::npos) << Show(bad);
  }
}

TEST_F(ExitCodes, VersionEverywhere) {
  std::vector<std::vector<std::string>> cases = {{"--version"}};
  for (const char* cmd : {"run", "check", "minimize", "repro", "report", "fuzz", "merge", "probe", "vm"})
    cases.push_back({cmd, "--version"});
  for (const auto& args : cases) {
    SCOPED_TRACE(args[0]);
    Output o = Run(args);
    EXPECT_EQ(o.status, 0) << Show(o);
    EXPECT_TRUE(std::regex_match(o.out, std::regex("mmdiff [0-9]+\\.[0-9]+\\.[0-9]+\n"))) << Show(o);
    EXPECT_EQ(o.err, "");
  }
}

}  // namespace
