// The built `mmdiff` binary run as a user runs it, for the command-line tests.
#pragma once

#include "tests/slurp.h"
#include "tests/temp_dir.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

namespace mmdiff::clitest {

struct Output {
  int status = -1;  // exit code; -1 if killed by a signal
  std::string out, err;
};

using mmdiff::testing_util::Slurp;

// The last non-empty line of `text`: a command's summary line.
inline std::string LastLine(const std::string& text) {
  std::string last;
  std::stringstream ss(text);
  for (std::string l; std::getline(ss, l);)
    if (!l.empty()) last = l;
  return last;
}

// Runs MMDIFF_BIN with `args` in `cwd` (or, given, `command`: its argv, for a
// shell); stdout and stderr are captured through files in a temporary
// directory, removed afterwards.
inline Output RunMmdiff(const std::vector<std::string>& args, const std::string& cwd,
                        const std::vector<std::string>& command = {}) {
  testutil::TempDir io{"mmdiff-cli-run"};
  std::string out_path = io.path("stdout"), err_path = io.path("stderr");
  pid_t pid = fork();
  if (pid == 0) {
    int out = open(out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    int err = open(err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (out < 0 || err < 0 || chdir(cwd.c_str()) < 0) _exit(126);
    dup2(out, 1);
    dup2(err, 2);
    std::vector<char*> argv;
    if (command.empty()) argv.push_back(const_cast<char*>(MMDIFF_BIN));
    for (const std::string& a : command.empty() ? args : command) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    execv(argv[0], argv.data());
    _exit(127);
  }
  Output o;
  int status = 0;
  EXPECT_EQ(waitpid(pid, &status, 0), pid);
  if (WIFEXITED(status)) o.status = WEXITSTATUS(status);
  o.out = Slurp(out_path);
  o.err = Slurp(err_path);
  return o;
}

// A suite with a temporary directory of its own for the programs it writes
// and the mmdiff runs in it; `Suite` is the deriving fixture, so that each
// suite has its own directory.
template <typename Suite>
class TempDirSuite : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    tmp_.emplace("mmdiff-cli-test");
    dir_ = tmp_->path();
  }
  static void TearDownTestSuite() { tmp_.reset(); }

  // Writes a program file into the suite's temporary directory.
  static std::string Write(const std::string& name, const std::string& text) {
    std::string path = dir_ + "/" + name;
    std::ofstream(path, std::ios::binary) << text;
    return path;
  }

  // Runs mmdiff with `args` in `cwd`.
  static Output Run(const std::vector<std::string>& args, const std::string& cwd = dir_) {
    return RunMmdiff(args, cwd);
  }

  static inline std::optional<testutil::TempDir> tmp_;
  static inline std::string dir_;
};

}  // namespace mmdiff::clitest
