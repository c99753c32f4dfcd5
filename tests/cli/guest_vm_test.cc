// mmdiff vm: a kept guest runs programs and, with 'exec', a static binary of
// the host (a kernel developer's own test), printing its output and status.
#include <gtest/gtest.h>

#include <fstream>
#include <string>

#include "tests/cli/run_mmdiff.h"

namespace mmdiff::clitest {
namespace {

TEST(GuestVm, ExecRunsAStaticBinaryWithItsArguments) {
  testutil::TempDir tmp{"mmdiff-vm-exec"};
  std::ofstream(tmp.path("t.c")) << "#include <stdio.h>\n"
                                    "int main(int argc, char **argv) { printf(\"argc %d %s\\n\", argc, argv[2]); "
                                    "return 3; }\n";
  std::string bin = tmp.path("t");
  ASSERT_EQ(system(("cc -O2 -static -o " + bin + " " + tmp.path("t.c")).c_str()), 0);
  std::string input = "exec " + bin + " one two\nexec " + tmp.path("missing") +
                      "\n" MMDIFF_SOURCE_DIR "/corpus/anon_write_clear_refs.mmp\nquit\n";
  std::ofstream(tmp.path("input")) << input;
  Output o = RunMmdiff({}, tmp.path(),
                       {"/bin/sh", "-c", std::string(MMDIFF_BIN) + " vm --guest 6.12 < " + tmp.path("input")});
  ASSERT_EQ(o.status, 0) << o.err;
  EXPECT_NE(o.out.find("argc 3 two\n# exec " + bin + ": exit 3\n"), std::string::npos) << o.out;
  EXPECT_NE(o.out.find("error: exec: cannot read '" + tmp.path("missing") + "'"), std::string::npos) << o.out;
  EXPECT_NE(o.out.find("# verdict: PASS"), std::string::npos) << o.out;  // programs still run after it
}

}  // namespace
}  // namespace mmdiff::clitest
