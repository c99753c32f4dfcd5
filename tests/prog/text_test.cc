#include <gtest/gtest.h>
#include "prog/text.h"
namespace mmdiff {
TEST(Text, Smoke) {
  Program p; TextError e;
  ASSERT_TRUE(ParseProgram("mmap 0 4 rw anon private => ok\nwrite 0\npagemap 0 4 => P--X-- ------ ------ ------\n", "t", &p, &e)) << e.ToString();
  EXPECT_EQ(PrintProgram(p), "mmap 0 4 rw anon private => ok\nwrite 0\npagemap 0 4 => P--X-- ------ ------ ------\n");
}
}
