// The whole of a file the code under test wrote (empty when unreadable):
// the one file reader the tests share.
#pragma once

#include <fstream>
#include <sstream>
#include <string>

namespace mmdiff::testing_util {

inline std::string Slurp(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace mmdiff::testing_util
