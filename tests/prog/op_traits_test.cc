// The op table's traits agree with each op's arguments, so a new row cannot
// claim pages it does not name; and the trait functions answer as the tools
// that used to switch over OpKind did.
#include "prog/op_traits.h"

#include <gtest/gtest.h>

#include "prog/text.h"

namespace mmdiff {
namespace {

bool Has(const OpInfo& info, ArgKind kind) {
  for (const ArgSpec& a : info.args)
    if (a.kind == kind) return true;
  return false;
}

// A new op's row must fill its traits the way its arguments say.
TEST(OpTraits, AgreeWithTheArguments) {
  for (const OpInfo& info : AllOps()) {
    SCOPED_TRACE(info.name);
    ASSERT_NE(info.syscall, nullptr);
    bool page = Has(info, ArgKind::kPage), npages = Has(info, ArgKind::kNpages);
    switch (info.pages) {
      case OpPages::kNone: EXPECT_FALSE(page); break;
      case OpPages::kOne: EXPECT_TRUE(page && !npages); break;
      case OpPages::kRange: EXPECT_TRUE(page && npages && !Has(info, ArgKind::kNewNpages)); break;
      case OpPages::kRangeAndDest: EXPECT_TRUE(page && Has(info, ArgKind::kNewNpages)); break;
      case OpPages::kAll: EXPECT_FALSE(page); break;
    }
    EXPECT_EQ((info.traits & kTraitFileOp) != 0, Has(info, ArgKind::kFile));
    if (info.traits & kTraitObserves) EXPECT_EQ(info.pages, OpPages::kRange);
  }
}

Op ParseOp(const char* line) {
  Program p;
  TextError e;
  EXPECT_TRUE(ParseProgram(line, "t", &p, &e)) << e.ToString();
  return p.ops.back();
}

TEST(OpTraits, PagesForksObservations) {
  Op mremap = ParseOp("mremap 10 4 2 move 100\n");
  EXPECT_TRUE(OpNamesPage(mremap, 13));
  EXPECT_FALSE(OpNamesPage(mremap, 14));
  EXPECT_TRUE(OpNamesPage(mremap, 101));
  EXPECT_FALSE(OpNamesPage(mremap, 102));
  EXPECT_TRUE(OpNamesPage(ParseOp("write 7\n"), 7));
  EXPECT_FALSE(OpNamesPage(ParseOp("write 7\n"), 8));
  EXPECT_TRUE(OpNamesPage(ParseOp("clear_refs 4\n"), 123456));
  EXPECT_FALSE(OpNamesPage(ParseOp("fpunch 0 0 4\n"), 0));  // file pages, not arena pages
  EXPECT_TRUE(Observes(ParseOp("scan 0 4\n")));
  EXPECT_FALSE(Observes(ParseOp("scan 0 4 wp_matching\n")));
  EXPECT_TRUE(HasTrait(OpKind::kFork, kTraitForks));
  EXPECT_EQ(FeaturesNamed(ParseOp("madvise 0 1 pageout\n")), uint32_t{kFeatSwap});
  EXPECT_EQ(FeaturesNamed(ParseOp("scan 0 1 req=soft_dirty\n")),
            uint32_t{kFeatPagemapScan | kFeatScanSoftDirty | kFeatSoftDirty});
}

TEST(OpTraits, LineageFollowsForks) {
  Program p;
  TextError e;
  ASSERT_TRUE(ParseProgram("write 0\nfork\np1: write 1\np1: fork\np2: write 2\nwrite 3\n", "t", &p, &e));
  Lineage l = LineageOf(p);
  EXPECT_EQ(l.parent[2], 1);
  EXPECT_TRUE(InHistory(p, l, 0, 2, 4));   // p0's write before the first fork
  EXPECT_TRUE(InHistory(p, l, 2, 2, 4));   // p1's write before p2 was forked
  EXPECT_FALSE(InHistory(p, l, 5, 2, 6));  // p0's later write is not p2's
}

}  // namespace
}  // namespace mmdiff
