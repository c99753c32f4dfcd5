// Tests of what the parser accepts as a program at all: a size cap, text
// only, at least one op; and of error messages that stay one short,
// printable line whatever the input holds.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <string>

#include "prog/text.h"
#include "tests/temp_dir.h"

namespace mmdiff {
namespace {

using std::string_literals::operator""s;

bool OnePrintableLine(const std::string& s) {
  for (char c : s)
    if (static_cast<unsigned char>(c) < 0x20 || static_cast<unsigned char>(c) >= 0x7f) return false;
  return true;
}

struct NotTextCase {
  std::string text;
  int line, column;
  const char* message;
  const char* token;  // as ToString() shows it
};

TEST(NotText, RefusedAtTheFirstBadByte) {
  const NotTextCase cases[] = {
      {"write 0\nwr\0ite 0\n"s, 2, 3, "not a text program: a NUL byte", "\\x00"},
      {"write 0\x1b[2J\n", 1, 8, "not a text program: a control character", "\\x1b"},
      {"# caf\xe9\nwrite 0\n", 1, 6, "not a text program: a byte that is not UTF-8", "\\xe9"},
      {"write 0 # \xc0\xaf\n", 1, 11, "not a text program: a byte that is not UTF-8", "\\xc0"},  // overlong '/'
      {"\x7f", 1, 1, "not a text program: a control character", "\\x7f"},
      {std::string(5, '\0'), 1, 1, "not a text program: a NUL byte", "\\x00"},
  };
  for (const NotTextCase& c : cases) {
    SCOPED_TRACE(PrintableToken(c.text, 100));
    Program p;
    TextError e;
    ASSERT_FALSE(ParseProgram(c.text, "t.mmp", &p, &e));
    EXPECT_EQ(e.line, c.line);
    EXPECT_EQ(e.column, c.column);
    EXPECT_EQ(e.message, c.message);
    std::string want = "t.mmp:" + std::to_string(c.line) + ":" + std::to_string(c.column) + ": " + c.message +
                       ": '" + c.token + "'";
    EXPECT_EQ(e.ToString(), want);
  }
}

TEST(NotText, Utf8CommentsTabsAndCrlfAreText) {
  Program p;
  TextError e;
  std::string text = "# CONTRACT \xc2\xa7" "3.3 \xe2\x86\x92 ok \xf0\x9f\x90\xa7\r\n\twrite 0\r\n";
  ASSERT_TRUE(ParseProgram(text, "t", &p, &e)) << e.ToString();
  EXPECT_EQ(p.ops.size(), 1u);
}

TEST(Message, LongTokenIsCutAndEscaped) {
  std::string token(10 << 20, 'x');
  Program p;
  TextError e;
  ASSERT_FALSE(ParseProgram("write " + token + "\n", "t.mmp", &p, &e));
  std::string s = e.ToString();
  EXPECT_LT(s.size(), 200u) << s.substr(0, 300);
  EXPECT_EQ(s, "t.mmp:1:7: expected a number for page: '" + std::string(40, 'x') + "...'");
  EXPECT_TRUE(OnePrintableLine(s));
}

TEST(Message, EmbeddedInputIsEscapedAndCut) {
  Program p;
  TextError e;
  ASSERT_FALSE(ParseProgram("scan 0 1 req=" + std::string(5000, 'q') + "\n", "t.mmp", &p, &e));
  EXPECT_LT(e.ToString().size(), 300u);
  EXPECT_TRUE(OnePrintableLine(e.ToString())) << e.ToString();
  // A file name with a newline in it does not break the line either.
  e.file = "evil\nname.mmp";
  EXPECT_TRUE(OnePrintableLine(e.ToString())) << e.ToString();
  EXPECT_EQ(e.ToString().rfind("evil\\x0aname.mmp:1:", 0), 0u) << e.ToString();
}

TEST(PrintableTokenTest, CutsAtMaxAndEscapes) {
  EXPECT_EQ(PrintableToken("abc"), "abc");
  EXPECT_EQ(PrintableToken("a\tb\xff"), "a\\x09b\\xff");
  EXPECT_EQ(PrintableToken(std::string(41, 'y')), std::string(40, 'y') + "...");
  EXPECT_EQ(PrintableToken(std::string(40, 'y')), std::string(40, 'y'));
}

TEST(Size, LargerThanTheCapIsRefused) {
  std::string text;
  while (text.size() <= kMaxProgramBytes) text += "# padding padding padding padding padding padding\n";
  Program p;
  TextError e;
  ASSERT_FALSE(ParseProgram(text, "big.mmp", &p, &e));
  EXPECT_EQ(e.ToString(), "big.mmp: larger than 16 MiB: not a program");
  text.resize(kMaxProgramBytes - 8);
  text += "\nwrite 0";
  ASSERT_EQ(text.size(), kMaxProgramBytes);
  EXPECT_TRUE(ParseProgram(text, "edge.mmp", &p, &e)) << e.ToString();
}

class File : public testing::Test {
 protected:
  std::string Write(const std::string& name, const std::string& text) {
    std::string path = dir_ + "/" + name;
    std::ofstream(path, std::ios::binary) << text;
    return path;
  }
  std::string Error(const std::string& path) {
    Program p;
    TextError e;
    EXPECT_FALSE(ParseProgramFile(path, &p, &e)) << path;
    return e.ToString();
  }
  testutil::TempDir tmp_{"mmdiff-input-test"};
  std::string dir_ = tmp_.path();
};

TEST_F(File, DirectoryIsNotAProgram) {
  EXPECT_EQ(Error(dir_), dir_ + ": is a directory, not a program (mmdiff check DIR runs its .mmp files)");
}

TEST_F(File, ProgramWithoutOpsIsRefused) {
  EXPECT_EQ(Error(Write("empty.mmp", "")), dir_ + "/empty.mmp: empty file: a program needs at least one op");
  EXPECT_EQ(Error(Write("comments.mmp", "# nothing\n\n   \n")),
            dir_ + "/comments.mmp: no ops (only comments or blank lines): a program needs at least one op");
}

TEST_F(File, OversizedFileIsRefused) {
  std::string text(kMaxProgramBytes + 1, '\n');
  EXPECT_EQ(Error(Write("big.mmp", text)), dir_ + "/big.mmp: larger than 16 MiB: not a program");
}

// Endless devices are read only up to the cap (the parse would never end
// otherwise, with the memory growing all the while).
TEST_F(File, EndlessDevicesAreReadUpToTheCap) {
  EXPECT_EQ(Error("/dev/zero"), "/dev/zero:1:1: not a text program: a NUL byte: '\\x00'");
  std::string urandom = Error("/dev/urandom");
  EXPECT_EQ(urandom.rfind("/dev/urandom:", 0), 0u) << urandom;
  EXPECT_TRUE(OnePrintableLine(urandom)) << urandom;
}

TEST_F(File, EndlessPipeIsReadUpToTheCap) {
  int fds[2];
  ASSERT_EQ(pipe(fds), 0);
  pid_t writer = fork();
  if (writer == 0) {
    close(fds[0]);
    std::string line = "pagemap 0 1\n";
    std::string chunk;
    while (chunk.size() < 65536) chunk += line;
    for (;;)
      if (write(fds[1], chunk.data(), chunk.size()) < 0) _exit(0);
  }
  close(fds[1]);
  std::string path = "/proc/self/fd/" + std::to_string(fds[0]);
  Program p;
  TextError e;
  EXPECT_FALSE(ParseProgramFile(path, &p, &e));
  EXPECT_EQ(e.message, "larger than 16 MiB: not a program");
  close(fds[0]);
  int status;
  waitpid(writer, &status, 0);
}

}  // namespace
}  // namespace mmdiff
