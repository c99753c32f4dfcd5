// Minimal command-line parsing for the subcommands: --flag, --flag VALUE,
// --flag=VALUE and positional arguments, with one-line errors.
#pragma once

#include <map>
#include <set>
#include <string>
#include <vector>

namespace mmdiff::cli {

struct Args {
  std::vector<std::string> positional;
  std::map<std::string, std::string> values;  // --name VALUE
  std::set<std::string> switches;             // --name
  // Every --name VALUE in command-line order, repeated ones included
  // (`values` keeps the last): `fuzz --kernel A --kernel B`.
  std::vector<std::pair<std::string, std::string>> ordered;

  bool Has(const std::string& name) const { return switches.count(name) > 0; }
  std::string Get(const std::string& name, const std::string& def = "") const {
    auto it = values.find(name);
    return it == values.end() ? def : it->second;
  }
  // A positive integer flag; false with `err` set when it is not one.
  bool GetInt(const std::string& name, int def, int* out, std::string* err) const;
};

// `value_flags` take a value, `switch_flags` do not; anything else is an error.
bool ParseArgs(int argc, char** argv, const std::set<std::string>& value_flags,
               const std::set<std::string>& switch_flags, Args* out, std::string* err);

}  // namespace mmdiff::cli
