#include "cli/args.h"

#include <cstdlib>

namespace mmdiff::cli {

bool Args::GetInt(const std::string& name, int def, int* out, std::string* err) const {
  auto it = values.find(name);
  if (it == values.end()) {
    *out = def;
    return true;
  }
  char* end = nullptr;
  long v = strtol(it->second.c_str(), &end, 10);
  if (it->second.empty() || *end != '\0' || v <= 0 || v > 1000000000) {
    *err = "--" + name + " needs a positive number, got '" + it->second + "'";
    return false;
  }
  *out = static_cast<int>(v);
  return true;
}

bool ParseArgs(int argc, char** argv, const std::set<std::string>& value_flags,
               const std::set<std::string>& switch_flags, Args* out, std::string* err) {
  for (int i = 0; i < argc; i++) {
    std::string a = argv[i];
    if (a.size() < 3 || a.compare(0, 2, "--") != 0) {
      if (a == "-h") {
        out->switches.insert("help");
        continue;
      }
      out->positional.push_back(a);
      continue;
    }
    std::string name = a.substr(2), value;
    size_t eq = name.find('=');
    bool has_value = eq != std::string::npos;
    if (has_value) {
      value = name.substr(eq + 1);
      name = name.substr(0, eq);
    }
    if (switch_flags.count(name) || name == "help") {
      if (has_value) {
        *err = "--" + name + " takes no value";
        return false;
      }
      out->switches.insert(name);
    } else if (value_flags.count(name)) {
      if (!has_value) {
        if (i + 1 >= argc) {
          *err = "--" + name + " needs a value";
          return false;
        }
        value = argv[++i];
      }
      out->values[name] = value;
      out->ordered.push_back({name, value});
    } else {
      *err = "unknown option '" + a + "'";
      return false;
    }
  }
  return true;
}

}  // namespace mmdiff::cli
