// A temporary directory for a test, removed with everything in it when the
// test is done.
#pragma once

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <string>

namespace mmdiff::testutil {

class TempDir {
 public:
  // /tmp/PREFIX.XXXXXX
  explicit TempDir(const std::string& prefix) {
    std::string templ = "/tmp/" + prefix + ".XXXXXX";
    if (mkdtemp(templ.data())) path_ = templ;
    else ADD_FAILURE() << "mkdtemp " << templ;
  }
  ~TempDir() {
    std::error_code ec;
    if (!path_.empty()) std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

}  // namespace mmdiff::testutil
