#include "cli/output.h"

#include <cstdio>
#include <fstream>

namespace mmdiff::cli {

std::vector<char*> LongOutputFlag(int argc, char** argv) {
  static char kOutput[] = "--output";
  std::vector<char*> out(argv, argv + argc);
  for (char*& a : out)
    if (std::string(a) == "-o") a = kOutput;
  return out;
}

bool WriteOutput(const std::string& path, const std::string& text, std::string* err) {
  if (path.empty() || path == "-") {
    fputs(text.c_str(), stdout);
    return true;
  }
  std::ofstream out(path);
  out << text;
  if (!out.flush()) {
    *err = "cannot write " + path;
    return false;
  }
  return true;
}

}  // namespace mmdiff::cli
