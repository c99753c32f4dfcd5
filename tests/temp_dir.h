// A temporary directory for a test, removed with everything in it when the
// test is done, pass or fail: the one way the tests make temporary files
// (the rule: a test run leaves nothing on the user's machine).
//
// Nothing is kept for a failed test: its assertion messages carry what
// there is to see (the command's output, stats.json, the findings named),
// and a directory kept "for debugging" is one more thing left in /tmp,
// after every failed run, that nobody removes.
#pragma once

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <string>

namespace mmdiff::testutil {

// Where temporary files go: $TMPDIR, else /tmp, as for mktemp(1) and for
// the code under test (executor/exec_dir.h, fuzz/repro_build.cc), so that a
// run with TMPDIR set to an empty directory shows what the tests left
// (tests/leaves_nothing.sh).
inline std::string TempBase() {
  const char* base = getenv("TMPDIR");
  return base && *base ? base : "/tmp";
}

class TempDir {
 public:
  // TempBase()/PREFIX.XXXXXX
  explicit TempDir(const std::string& prefix) {
    std::string templ = TempBase() + "/" + prefix + ".XXXXXX";
    if (mkdtemp(templ.data())) path_ = templ;
    else ADD_FAILURE() << "mkdtemp " << templ;
  }
  // After the processes that write into it are gone: declare it before
  // them (a ScopedChild, a target), so that it is destroyed after them.
  ~TempDir() {
    std::error_code ec;
    if (!path_.empty()) std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::string& path() const { return path_; }
  // PATH/NAME: a file or directory in it (not created).
  std::string path(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

}  // namespace mmdiff::testutil
