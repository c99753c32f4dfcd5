// What a campaign keeps in stats.json comes back when it resumes.
#include "fuzz/campaign_state.h"

#include <fstream>

#include <gtest/gtest.h>

#include "tests/temp_dir.h"

namespace mmdiff {
namespace {

TEST(CampaignState, TallyAndTimesComeBack) {
  CampaignTally t;
  t.judged = 12345;
  t.limits = 3;
  t.unmodelled["populate of a THP-eligible range"] = 7;
  t.unmodelled["a \"quoted\" \\ reason"] = 2;
  t.granted[static_cast<int>(Allowance::kFaultAroundMayMap)] = 40;
  t.taken[static_cast<int>(Allowance::kFaultAroundMayMap)] = 9;
  t.granted[static_cast<int>(Allowance::kReclaimMayUnmap)] = 5;
  int64_t started = 1796591111, found = 1796599999;
  std::string json = "{\n  \"execs\": 987,\n  \"elapsed_s\": 61.5,\n  \"restarts\": 4,\n  \"started\": \"" +
                     IsoTimeUtc(started) + "\",\n  \"last_new_finding\": \"" + IsoTimeUtc(found) + "\",\n" +
                     t.Json() + "\n}\n";
  testutil::TempDir tmp{"campaign-state"};
  std::string path = tmp.path("stats.json");
  std::ofstream(path) << json;
  CampaignHistory h;
  ASSERT_TRUE(ReadCampaignHistory(path, &h)) << json;
  EXPECT_EQ(h.execs, 987u);
  EXPECT_DOUBLE_EQ(h.elapsed_s, 61.5);
  EXPECT_EQ(h.restarts, 4u);
  EXPECT_EQ(h.started, started);
  EXPECT_EQ(h.last_new_finding, found);
  EXPECT_EQ(h.tally.judged, t.judged);
  EXPECT_EQ(h.tally.limits, t.limits);
  EXPECT_EQ(h.tally.unmodelled, t.unmodelled) << json;
  for (int a = 0; a < kNumAllowances; a++) {
    EXPECT_EQ(h.tally.granted[a], t.granted[a]) << a;
    EXPECT_EQ(h.tally.taken[a], t.taken[a]) << a;
  }
  EXPECT_EQ(IsoTimeUtc(0), "1970-01-01T00:00:00Z");
  EXPECT_EQ(ParseIsoTimeUtc("not a time"), 0);
  EXPECT_FALSE(ReadCampaignHistory(path + ".missing", &h));
}

TEST(CampaignState, UnmodelledReasonDropsTheOp) {
  Judgement j{Judgement::Kind::kSkip, "unmodelled: op 3 \"p1: madvise 0 512 populate_write\": populate of a THP-eligible range", "", {}};
  EXPECT_EQ(UnmodelledReason(j), "populate of a THP-eligible range");
  j.line = "requires soft_dirty";
  EXPECT_EQ(UnmodelledReason(j), "requires soft_dirty");
}

}  // namespace
}  // namespace mmdiff
