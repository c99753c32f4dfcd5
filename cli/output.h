// The -o/--output flag of the subcommands that write one file or stdout.
#pragma once

#include <string>
#include <vector>

namespace mmdiff::cli {

// argv with "-o" spelled "--output": ParseArgs knows long options only.
std::vector<char*> LongOutputFlag(int argc, char** argv);

// `text` to the file `path`, or to stdout when `path` is empty or "-".
bool WriteOutput(const std::string& path, const std::string& text, std::string* err);

}  // namespace mmdiff::cli
