// mmdiff merge of the libFuzzer and AFL++ engines' crash files, run as a user
// runs it, on the local kernel: each crash file decoded, re-run, confirmed
// and filed under the signature a `mmdiff fuzz` finding of the same failure
// has. The engines' crash files are made here with the engines' encoding
// (prog/binary.h), for a program the model mutant dontneed-keeps-anon fails
// on every kernel; the suite's engines_afl_sync_merge test merges real ones.
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <regex>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "prog/binary.h"
#include "prog/text.h"
#include "tests/campaign/campaign_util.h"
#include "tests/temp_dir.h"

namespace {

using namespace campaigntest;
namespace testutil = mmdiff::testutil;

struct Output {
  int status = -1;
  std::string out, err;
};

Output Mmdiff(const std::vector<std::string>& args) {
  // Its stdout and stderr, through files removed when they are read.
  testutil::TempDir io{"mmdiff-output"};
  pid_t pid = StartMmdiff(args, io.path("out"), io.path("err"));
  int status;
  waitpid(pid, &status, 0);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, Slurp(io.path("out")), Slurp(io.path("err"))};
}

void Write(const std::string& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary) << bytes;
}

// The engines' input for a program text.
std::string Encoded(const std::string& text) {
  mmdiff::Program p;
  mmdiff::TextError err;
  EXPECT_TRUE(mmdiff::ParseProgram(text, "t.mmp", &p, &err)) << err.ToString();
  std::vector<uint8_t> bytes = mmdiff::EncodeProgram(p);
  return std::string(bytes.begin(), bytes.end());
}

// Under dontneed-keeps-anon the model keeps page 0 after MADV_DONTNEED; every
// kernel zaps it: the pagemap op diverges.
const char kDontneed[] =
    "mmap 0 4 rw anon private\n"
    "write 0\n"
    "madvise 0 4 dontneed\n"
    "pagemap 0 4\n";
const char kMutant[] = "dontneed-keeps-anon";

int Count(const std::string& s, const std::string& what) {
  int n = 0;
  for (size_t at = s.find(what); at != std::string::npos; at = s.find(what, at + 1)) n++;
  return n;
}

// A libFuzzer artifact directory and an AFL++ sync directory with two
// instances: four crash files of the same failure, one file that does not
// decode, and files that are not crash files at all.
struct EngineDirs {
  std::string artifacts, sync;
};

EngineDirs MakeEngineDirs(const std::string& root) {
  EngineDirs d{root + "/artifacts", root + "/sync"};
  for (const std::string& dir : {d.artifacts, d.sync + "/main/crashes", d.sync + "/main/queue", d.sync + "/second/hangs"})
    EXPECT_EQ(system(("mkdir -p '" + dir + "'").c_str()), 0);
  Write(d.artifacts + "/crash-0123abcd", Encoded(kDontneed));
  Write(d.artifacts + "/timeout-4567ef01", Encoded(std::string(kDontneed) + "read 1\n"));
  Write(d.artifacts + "/leak-89abcdef", std::string("\xff\xff\xff\xff\x7f\x01\x02", 7));
  Write(d.artifacts + "/notes.txt", "not a crash file");
  Write(d.sync + "/main/crashes/id:000000,sig:06,src:000003,time:1234,execs:99,op:mmdiff-insert_op",
        Encoded(kDontneed));
  Write(d.sync + "/main/crashes/README.txt", "AFL++'s own");
  Write(d.sync + "/main/queue/id:000000,time:0,execs:0,orig:x.bin", Encoded(kDontneed));
  Write(d.sync + "/second/hangs/id:000000,src:000001,time:99,execs:7,op:mmdiff-splice",
        Encoded(std::string("mmap 8 2 rw anon private\n") + kDontneed));
  return d;
}

TEST(MergeEngines, CrashFilesOfAMutantEngineBecomeOneMinimizedFinding) {
  testutil::TempDir tmp{"merge-engines"};
  std::string root = tmp.path();
  EngineDirs d = MakeEngineDirs(root);
  std::string out = root + "/merged";
  Output o = Mmdiff({"merge", "-o", out, d.artifacts, d.sync, "--model-mutant", kMutant});
  ASSERT_EQ(o.status, 0) << o.out << o.err;
  // Four crash files (not notes.txt, README.txt or the queue), one junk.
  EXPECT_NE(o.out.find("5 engine crash files"), std::string::npos) << o.out;
  EXPECT_NE(o.out.find("4 recorded (1 new findings, 0 new flaky)"), std::string::npos) << o.out;
  EXPECT_NE(o.out.find("1 undecodable"), std::string::npos) << o.out;
  EXPECT_EQ(Count(o.out, ": new finding findings/"), 1) << o.out;
  EXPECT_EQ(Count(o.out, ": hit findings/"), 3) << o.out;
  EXPECT_EQ(o.out.find("README"), std::string::npos) << o.out;
  std::vector<std::string> found = List(out + "/findings");
  ASSERT_EQ(found.size(), 1u) << o.out;
  std::string entry = out + "/findings/" + found[0];
  std::string meta = Slurp(entry + "/meta.txt");
  EXPECT_NE(meta.find("hits: 4\n"), std::string::npos) << meta;
  EXPECT_NE(meta.find(std::string("mutant: ") + kMutant), std::string::npos) << meta;
  EXPECT_NE(meta.find("signature: model-mutant=" + std::string(kMutant) + "|"), std::string::npos) << meta;
  // Minimized as a campaign's finding is, and labelled a self-test.
  std::string label = std::string("model mutant ") + kMutant;
  EXPECT_NE(Slurp(entry + "/min.mmp").find("# " + label), std::string::npos) << Slurp(entry + "/min.mmp");
  std::string repro = Slurp(entry + "/repro.c");
  EXPECT_EQ(repro.substr(0, repro.find('\n')).find("mmdiff reproducer of " + label + " (a SELF-TEST, not a kernel bug)"), 3u)
      << repro;
  EXPECT_EQ(Slurp(entry + "/report.txt").rfind(std::string("Subject: [SELF-TEST ") + label, 0), 0u);
  EXPECT_NE(Slurp(entry + "/program.mmp").find("madvise 0 4 dontneed"), std::string::npos);
}

TEST(MergeEngines, CrashesThatDoNotFailHereAreReportedNotFiled) {
  // The same crash files against the real model: the kernel is right.
  testutil::TempDir tmp{"merge-engines-real"};
  std::string root = tmp.path();
  EngineDirs d = MakeEngineDirs(root);
  std::string out = root + "/merged";
  Output o = Mmdiff({"merge", "-o", out, d.artifacts, "--no-minimize"});
  ASSERT_EQ(o.status, 0) << o.out << o.err;
  EXPECT_EQ(Count(o.out, ": did not fail in 3 runs"), 2) << o.out;
  EXPECT_NE(o.out.find("0 recorded"), std::string::npos) << o.out;
  EXPECT_TRUE(List(out + "/findings").empty());
}

TEST(MergeEngines, SameSignatureAsTheCampaignsFinding) {
  // `mmdiff fuzz` finds the failure from a seed; merge of that campaign and
  // the engines' crash files of the same program: one entry, hits summed.
  testutil::TempDir tmp{"merge-engines-campaign"};
  std::string root = tmp.path();
  EngineDirs d = MakeEngineDirs(root);
  std::string seeds = root + "/seeds", campaign = root + "/campaign", out = root + "/merged";
  ASSERT_EQ(system(("mkdir -p '" + seeds + "'").c_str()), 0);
  Write(seeds + "/dontneed.mmp", kDontneed);
  Output fuzz = Mmdiff({"fuzz", "--model-mutant", kMutant, "--corpus", seeds, "--execs", "3", "--no-minimize",
                        "--seed", "1", "--out", campaign});
  ASSERT_EQ(fuzz.status, 1) << fuzz.err;
  std::vector<std::string> by_fuzz = List(campaign + "/findings");
  ASSERT_EQ(by_fuzz.size(), 1u) << fuzz.err;
  Output o = Mmdiff({"merge", "-o", out, campaign, d.artifacts, "--model-mutant", kMutant, "--no-minimize"});
  ASSERT_EQ(o.status, 0) << o.out << o.err;
  EXPECT_EQ(Count(o.out, ": hit findings/" + by_fuzz[0]), 2) << o.out;
  std::vector<std::string> merged = List(out + "/findings");
  ASSERT_EQ(merged.size(), 1u) << o.out;
  EXPECT_EQ(merged[0], by_fuzz[0]);
  EXPECT_NE(Slurp(out + "/findings/" + merged[0] + "/meta.txt").find("hits: 3\n"), std::string::npos)
      << Slurp(out + "/findings/" + merged[0] + "/meta.txt");
}

TEST(MergeEngines, BadInputIsOneLineAndStatusTwo) {
  testutil::TempDir tmp{"merge-engines-bad"};
  std::string root = tmp.path();
  EngineDirs d = MakeEngineDirs(root);
  for (const std::vector<std::string>& args :
       {std::vector<std::string>{"merge", "-o", root + "/o", root + "/nonexistent"},
        {"merge", "-o", root + "/o", d.artifacts, "--model-mutant", "no-such-rule"},
        {"merge", "-o", root + "/o", d.artifacts, "--target", "model"},
        {"merge", "-o", root + "/o", d.artifacts, "--guest", "5.4"}}) {
    Output o = Mmdiff(args);
    EXPECT_EQ(o.status, 2) << args.back() << ": " << o.out << o.err;
    EXPECT_TRUE(std::regex_match(o.err, std::regex("mmdiff merge: [^\n]+\n"))) << o.err;
  }
}

// On a guest (label qemu): a crash of a soft-dirty bug the host cannot show,
// the known quirk softdirty_lost_on_merge with the quirk table off, is
// confirmed and minimized in the guest; with the table on it passes there.
TEST(MergeEnginesGuest, ACrashIsConfirmedAndMinimizedInTheGuest) {
  testutil::TempDir tmp{"merge-engines-guest"};
  std::string root = tmp.path();
  std::string artifacts = root + "/artifacts", program = Slurp(std::string(MMDIFF_SOURCE_DIR) +
                                                               "/corpus/quirks/softdirty_lost_on_merge.mmp");
  ASSERT_FALSE(program.empty());
  ASSERT_EQ(system(("mkdir -p '" + artifacts + "'").c_str()), 0);
  Write(artifacts + "/crash-softdirty", Encoded(program));
  Output o = Mmdiff({"merge", "-o", root + "/off", artifacts, "--guest", "6.12", "--no-quirks"});
  ASSERT_EQ(o.status, 0) << o.out << o.err;
  EXPECT_NE(o.out.find(": new finding findings/missed-dirty-"), std::string::npos) << o.out;
  EXPECT_NE(o.out.find("(6.12."), std::string::npos) << o.out;  // the guest's release, not the host's
  std::vector<std::string> found = List(root + "/off/findings");
  ASSERT_EQ(found.size(), 1u) << o.out;
  std::string entry = root + "/off/findings/" + found[0];
  EXPECT_NE(Slurp(entry + "/min.mmp").find("clear_refs 4"), std::string::npos) << Slurp(entry + "/min.mmp");
  EXPECT_NE(Slurp(entry + "/report.txt").find("6.12"), std::string::npos);
  Output on = Mmdiff({"merge", "-o", root + "/on", artifacts, "--guest", "6.12", "--no-minimize"});
  ASSERT_EQ(on.status, 0) << on.out << on.err;
  EXPECT_NE(on.out.find(": did not fail in 3 runs"), std::string::npos) << on.out;
}

}  // namespace
