#include "vmimages/modules.h"

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

namespace mmdiff::vm {
namespace {

const std::string kXz = ".xz";

bool EndsWith(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

std::string Normalize(std::string name) {
  for (char& c : name)
    if (c == '-') c = '_';
  return name;
}

// "virtio_blk" for ".../virtio-blk.ko" or ".../virtio_blk.ko.xz"; empty for
// any other file.
std::string ModuleName(const std::string& path) {
  std::string file = path.substr(path.rfind('/') + 1);
  if (EndsWith(file, kXz)) file.resize(file.size() - kXz.size());
  if (!EndsWith(file, ".ko") || file.size() == 3) return "";
  return Normalize(file.substr(0, file.size() - 3));
}

// Modules compiled into the kernel: modules.builtin lists their would-be
// paths, one a line.
std::set<std::string> Builtin(const std::string& modules_dir) {
  std::set<std::string> out;
  std::ifstream in(modules_dir + "/modules.builtin");
  for (std::string line; std::getline(in, line);)
    if (std::string name = ModuleName(line); !name.empty()) out.insert(name);
  return out;
}

// The comma-separated `depends=` string of a module's .modinfo section.
bool Depends(const std::string& path, std::vector<std::string>* deps, std::string* err) {
  std::string data, name;
  if (!ReadModule(path, &data, &name, err)) return false;
  const std::string key = "depends=";
  for (size_t pos = data.find(key); pos != std::string::npos; pos = data.find(key, pos + 1)) {
    if (pos > 0 && data[pos - 1] != '\0') continue;  // a modinfo entry starts after a NUL
    std::string list = data.substr(pos + key.size(), data.find('\0', pos) - pos - key.size());
    std::stringstream items(list);
    std::string item;
    while (std::getline(items, item, ','))
      if (!item.empty()) deps->push_back(Normalize(item));
    break;
  }
  return true;
}

struct Resolver {
  std::map<std::string, std::string> index;  // module name -> file path
  std::set<std::string> builtin;
  std::set<std::string> done;
  std::vector<std::string>* out;

  bool Visit(const std::string& name, std::string* err) {
    if (done.count(name) || builtin.count(name)) return true;
    done.insert(name);
    auto it = index.find(name);
    if (it == index.end()) {
      *err = "module " + name + " not found";
      return false;
    }
    std::vector<std::string> deps;
    if (!Depends(it->second, &deps, err)) return false;
    for (const std::string& dep : deps)
      if (!Visit(dep, err)) return false;
    out->push_back(it->second);
    return true;
  }
};

}  // namespace

bool ReadModule(const std::string& path, std::string* data, std::string* name, std::string* err) {
  *name = path.substr(path.rfind('/') + 1);
  std::stringstream ss;
  if (!EndsWith(path, kXz)) {
    std::ifstream in(path, std::ios::binary);
    ss << in.rdbuf();
    *data = ss.str();
    if (in) return true;
    *err = "cannot read module " + path;
    return false;
  }
  name->resize(name->size() - kXz.size());
  if (path.find('\'') != std::string::npos) {
    *err = "cannot quote module path " + path;
    return false;
  }
  FILE* p = popen(("xz -dc -- '" + path + "' 2>/dev/null").c_str(), "r");
  char buf[65536];
  data->clear();
  for (size_t n; p && (n = fread(buf, 1, sizeof buf, p)) > 0;) data->append(buf, n);
  if (!p || pclose(p) != 0 || data->empty()) {
    *err = "cannot decompress module " + path + " (is xz-utils installed?)";
    return false;
  }
  return true;
}

bool ModuleLoadOrder(const std::string& modules_dir, const std::vector<std::string>& wanted,
                     std::vector<std::string>* out, std::string* err, const std::vector<std::string>& optional) {
  Resolver r;
  r.out = out;
  r.builtin = Builtin(modules_dir);
  // Where the kernel has every wanted module built in (Debian 6.12 without
  // --swap) there is nothing to load, and no reason to walk the tree's
  // thousand-odd files, which costs each boot 4-20 ms on a busy host.
  bool all_builtin = optional.empty();
  for (const std::string& name : wanted) all_builtin = all_builtin && r.builtin.count(Normalize(name));
  if (all_builtin) return true;
  std::error_code ec;
  for (auto it = std::filesystem::recursive_directory_iterator(modules_dir, ec);
       !ec && it != std::filesystem::recursive_directory_iterator(); it.increment(ec))
    if (std::string name = ModuleName(it->path().string()); !name.empty()) r.index[name] = it->path().string();
  if (r.index.empty()) {
    *err = "no .ko or .ko.xz modules under " + modules_dir;
    return false;
  }
  for (const std::string& name : wanted)
    if (!r.Visit(Normalize(name), err)) return false;
  for (const std::string& name : optional)
    if (r.index.count(Normalize(name)) && !r.Visit(Normalize(name), err)) return false;
  return true;
}

}  // namespace mmdiff::vm
