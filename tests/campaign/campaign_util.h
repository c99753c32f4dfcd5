// The built mmdiff run as a user runs it, and what a campaign leaves on
// disk, for the campaign tests.
#pragma once

#include "tests/slurp.h"

#include <dirent.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

namespace campaigntest {

using mmdiff::testing_util::Slurp;

inline std::vector<std::string> List(const std::string& dir) {
  std::vector<std::string> out;
  if (DIR* d = opendir(dir.c_str())) {
    while (dirent* e = readdir(d))
      if (e->d_name[0] != '.') out.push_back(e->d_name);
    closedir(d);
  }
  return out;
}

// The number after `"key": ` in a stats.json, or -1.
inline long long JsonNumber(const std::string& json, const std::string& key) {
  size_t at = json.find("\"" + key + "\": ");
  return at == std::string::npos ? -1 : std::stoll(json.substr(at + key.size() + 4));
}

// Starts mmdiff with `args`, its stdout to `out_path` and its stderr to
// `err_path` (the same path: both, in one file).
inline pid_t StartMmdiff(const std::vector<std::string>& args, const std::string& out_path,
                         const std::string& err_path) {
  pid_t pid = fork();
  if (pid == 0) {
    freopen(out_path.c_str(), "w", stdout);
    freopen(err_path.c_str(), out_path == err_path ? "a" : "w", stderr);
    std::vector<char*> argv{const_cast<char*>(MMDIFF_BINARY)};
    for (const std::string& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    execv(MMDIFF_BINARY, argv.data());
    _exit(127);
  }
  return pid;
}

}  // namespace campaigntest
