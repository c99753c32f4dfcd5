// The seed corpus as a regression suite: `mmdiff check corpus/ --target
// local` must pass every program the running kernel can run (the others are
// skipped), judged both against the model and against each program's own
// '=> EXPECTED' results.
#include <gtest/gtest.h>

#include <regex>
#include <sstream>
#include <string>
#include <vector>

#include "tests/cli/run_mmdiff.h"

namespace mmdiff {
namespace {

using clitest::LastLine;
using clitest::Output;

// Runs the built mmdiff with `args` in the source directory.
Output RunMmdiff(const std::vector<std::string>& args) { return clitest::RunMmdiff(args, MMDIFF_SOURCE_DIR); }

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
}  // namespace mmdiff
