// The findings directory: a self-test (--model-mutant) finding never folds
// into a real one, in its own campaign directory or in `mmdiff merge`.
#include "fuzz/findings.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <fstream>
#include <sstream>

#include "prog/text.h"
#include "tests/slurp.h"
#include "tests/temp_dir.h"

namespace mmdiff {
namespace {

using mmdiff::testing_util::Slurp;

// A hang: a failed judgement whose signature is its class alone.
Judgement Hang() {
  Judgement j;
  j.kind = Judgement::Kind::kFail;
  j.line = "HANG op=0";
  return j;
}

TEST(Findings, MutantFindingsStayApartFromRealOnes) {
  Program prog;
  TextError text_err;
  ASSERT_TRUE(ParseProgram("mmap 0 1 rw anon private\n", "t.mmp", &prog, &text_err));
  std::string err;
  Trace trace;
  testutil::TempDir real_dir{"real"}, self_dir{"self"}, merged_dir{"merged"};
  std::string real = real_dir.path(), self = self_dir.path(), merged = merged_dir.path();
  FindingStore a, b;
  ASSERT_TRUE(a.Open(real, &err)) << err;
  ASSERT_TRUE(b.Open(self, &err)) << err;
  b.SetMutant("dontneed-keeps-anon");
  EXPECT_NE(a.SignatureOf(Hang()), b.SignatureOf(Hang()));
  EXPECT_TRUE(a.Record(prog, trace, Hang(), 3, 3));
  EXPECT_TRUE(b.Record(prog, trace, Hang(), 3, 3));
  std::string meta = Slurp(self + "/findings/" + FindingName(b.SignatureOf(Hang()), "hang") + "/meta.txt");
  EXPECT_NE(meta.find("mutant: dontneed-keeps-anon"), std::string::npos) << meta;

  MergeStats stats;
  ASSERT_TRUE(MergeFindingDirs({real, self}, merged, &stats, &err)) << err;
  EXPECT_EQ(stats.findings, 2u);  // the same hang, once real and once a self-test
  EXPECT_EQ(stats.duplicates, 0u);
  std::string merged_meta = Slurp(merged + "/findings/" + FindingName(b.SignatureOf(Hang()), "hang") + "/meta.txt");
  EXPECT_NE(merged_meta.find("mutant: dontneed-keeps-anon"), std::string::npos) << merged_meta;
  std::string real_meta = Slurp(merged + "/findings/" + FindingName(a.SignatureOf(Hang()), "hang") + "/meta.txt");
  EXPECT_EQ(real_meta.find("mutant:"), std::string::npos) << real_meta;
}

}  // namespace
}  // namespace mmdiff
