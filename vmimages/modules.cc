#include "vmimages/modules.h"

#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

namespace mmdiff::vm {
namespace {

std::string Normalize(std::string name) {
  for (char& c : name)
    if (c == '-') c = '_';
  return name;
}

// The comma-separated `depends=` string of a module's .modinfo section.
std::vector<std::string> Depends(const std::string& ko_path) {
  std::ifstream in(ko_path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  std::string data = ss.str();
  std::vector<std::string> deps;
  const std::string key = std::string("depends=");
  for (size_t pos = data.find(key); pos != std::string::npos; pos = data.find(key, pos + 1)) {
    if (pos > 0 && data[pos - 1] != '\0') continue;  // a modinfo entry starts after a NUL
    std::string list = data.substr(pos + key.size(), data.find('\0', pos) - pos - key.size());
    std::stringstream items(list);
    std::string item;
    while (std::getline(items, item, ','))
      if (!item.empty()) deps.push_back(Normalize(item));
    break;
  }
  return deps;
}

bool Visit(const std::string& name, const std::map<std::string, std::string>& index,
           std::set<std::string>* done, std::vector<std::string>* out, std::string* err) {
  if (done->count(name)) return true;
  done->insert(name);
  auto it = index.find(name);
  if (it == index.end()) {
    *err = "module " + name + " not found";
    return false;
  }
  for (const std::string& dep : Depends(it->second))
    if (!Visit(dep, index, done, out, err)) return false;
  out->push_back(it->second);
  return true;
}

}  // namespace

bool ModuleLoadOrder(const std::string& modules_dir, const std::vector<std::string>& wanted,
                     std::vector<std::string>* out, std::string* err) {
  std::map<std::string, std::string> index;  // module name -> .ko path
  std::error_code ec;
  for (auto it = std::filesystem::recursive_directory_iterator(modules_dir, ec);
       !ec && it != std::filesystem::recursive_directory_iterator(); it.increment(ec)) {
    std::string file = it->path().filename().string();
    if (file.size() > 3 && file.compare(file.size() - 3, 3, ".ko") == 0)
      index[Normalize(file.substr(0, file.size() - 3))] = it->path().string();
  }
  if (index.empty()) {
    *err = "no .ko modules under " + modules_dir;
    return false;
  }
  std::set<std::string> done;
  for (const std::string& name : wanted)
    if (!Visit(Normalize(name), index, &done, out, err)) return false;
  return true;
}

}  // namespace mmdiff::vm
