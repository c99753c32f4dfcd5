// Program files on the command line: files and directories of .mmp files.
#pragma once

#include <string>
#include <vector>

#include "prog/program.h"

namespace mmdiff::cli {

bool EndsWith(const std::string& s, const std::string& suffix);

// Files and directories (their .mmp files, sorted) in argument order; empty
// with `err` set when a path does not exist.
std::vector<std::string> ExpandPaths(const std::vector<std::string>& args, std::string* err);

// Parses every .mmp file of `dir` (sorted) into `out`; false with `err` on the
// first file that does not exist or does not parse.
bool LoadPrograms(const std::string& dir, std::vector<Program>* out, std::string* err);

}  // namespace mmdiff::cli
