#include "cli/programs.h"

#include <dirent.h>
#include <sys/stat.h>

#include <algorithm>

#include "prog/text.h"

namespace mmdiff::cli {

bool EndsWith(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

// Files and directories (their .mmp files, sorted) in argument order.
std::vector<std::string> ExpandPaths(const std::vector<std::string>& args, std::string* err) {
  std::vector<std::string> out;
  for (const std::string& a : args) {
    struct stat st;
    if (stat(a.c_str(), &st) != 0) {
      *err = a + ": no such file or directory";
      return {};
    }
    if (!S_ISDIR(st.st_mode)) {
      out.push_back(a);
      continue;
    }
    std::vector<std::string> files;
    if (DIR* d = opendir(a.c_str())) {
      while (dirent* e = readdir(d))
        if (EndsWith(e->d_name, ".mmp")) files.push_back((a.back() == '/' ? a : a + "/") + e->d_name);
      closedir(d);
    }
    std::sort(files.begin(), files.end());
    out.insert(out.end(), files.begin(), files.end());
  }
  return out;
}

bool LoadPrograms(const std::string& dir, std::vector<Program>* out, std::string* err) {
  std::vector<std::string> files = ExpandPaths({dir}, err);
  if (!err->empty()) return false;
  for (const std::string& f : files) {
    Program p;
    TextError te;
    if (!ParseProgramFile(f, &p, &te)) {
      *err = te.ToString();
      return false;
    }
    out->push_back(std::move(p));
  }
  return true;
}

}  // namespace mmdiff::cli
