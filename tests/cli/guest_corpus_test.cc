// The seed corpus on each Debian guest: `mmdiff check corpus/ --guest G`
// must pass every program the guest kernel can run (the others skipped).
// The guest is where the corpus meets soft-dirty, PAGEMAP_SCAN and WP_ASYNC
// (the local kernel may lack them), so this is the corpus's own test of the
// mechanisms; one boot serves every program.
#include <gtest/gtest.h>

#include <regex>
#include <string>

#include "tests/cli/run_mmdiff.h"

namespace mmdiff {
namespace {

using clitest::Output;

void CheckCorpusOnGuest(const std::string& guest, int min_passed) {
  Output o = clitest::RunMmdiff({"check", "corpus/", "--guest", guest}, MMDIFF_SOURCE_DIR);
  std::string show = "status " + std::to_string(o.status) + "\n--- stdout:\n" + o.out + "--- stderr:\n" + o.err;
  EXPECT_EQ(o.status, 0) << show;
  std::smatch m;
  std::string last = clitest::LastLine(o.out);
  ASSERT_TRUE(std::regex_match(last, m, std::regex(R"(([0-9]+) passed, 0 failed, ([0-9]+) skipped)"))) << show;
  EXPECT_GE(std::stoi(m[1].str()), min_passed) << show;
  std::printf("[ guest %s corpus ] %s\n", guest.c_str(), last.c_str());
}

TEST(GuestCorpus, AllProgramsPassOnDebian61) { CheckCorpusOnGuest("6.1", 40); }

TEST(GuestCorpus, AllProgramsPassOnDebian612) { CheckCorpusOnGuest("6.12", 70); }

}  // namespace
}  // namespace mmdiff
