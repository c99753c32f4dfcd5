// The seed corpus as a regression suite: `mmdiff check corpus/ --target
// local` must pass every program the running kernel can run (the others are
// skipped), judged both against the model and against each program's own
// '=> EXPECTED' results.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

namespace {

struct Output {
  int status = -1;  // exit code; -1 if killed by a signal
  std::string out, err;
};

std::string Slurp(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Runs the built mmdiff with `args` in the source directory.
Output RunMmdiff(const std::vector<std::string>& args) {
  char templ[] = "/tmp/mmdiff-corpus-test.XXXXXX";
  EXPECT_TRUE(mkdtemp(templ));
  std::string dir = templ, out_path = dir + "/stdout", err_path = dir + "/stderr";
  pid_t pid = fork();
  if (pid == 0) {
    int out = open(out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    int err = open(err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (out < 0 || err < 0 || chdir(MMDIFF_SOURCE_DIR) < 0) _exit(126);
    dup2(out, 1);
    dup2(err, 2);
    std::vector<char*> argv;
    argv.push_back(const_cast<char*>(MMDIFF_BIN));
    for (const std::string& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    execv(MMDIFF_BIN, argv.data());
    _exit(127);
  }
  Output o;
  int status = 0;
  EXPECT_EQ(waitpid(pid, &status, 0), pid);
  if (WIFEXITED(status)) o.status = WEXITSTATUS(status);
  o.out = Slurp(out_path);
  o.err = Slurp(err_path);
  unlink(out_path.c_str());
  unlink(err_path.c_str());
  rmdir(dir.c_str());
  return o;
}

std::string LastLine(const std::string& text) {
  std::string last;
  std::stringstream ss(text);
  for (std::string l; std::getline(ss, l);)
    if (!l.empty()) last = l;
  return last;
}

// Every program passes or is skipped; the known kernel quirks of
// corpus/QUIRKS.md pass as "known quirk" where the profile has them.
TEST(Corpus, AllProgramsPassOnLocalKernel) {
  Output o = RunMmdiff({"check", "corpus/", "--target", "local"});
  std::string show = "status " + std::to_string(o.status) + "\n--- stdout:\n" + o.out +
                     "--- stderr:\n" + o.err;
  EXPECT_EQ(o.status, 0) << show;
  std::smatch m;
  std::string last = LastLine(o.out);
  ASSERT_TRUE(std::regex_match(last, m, std::regex(R"(([0-9]+) passed, 0 failed, ([0-9]+) skipped)")))
      << show;
  EXPECT_GE(std::stoi(m[1].str()), 40) << show;
}

}  // namespace
