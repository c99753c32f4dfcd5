#include "vmimages/initramfs.h"

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>

#include "vmimages/modules.h"

namespace mmdiff::vm {
namespace {

class CpioWriter {
 public:
  void Dir(const std::string& name) { Entry(name, 040755, ""); }
  void File(const std::string& name, unsigned mode, const std::string& data) { Entry(name, 0100000 | mode, data); }
  std::string Finish() {
    Entry("TRAILER!!!", 0, "");
    return out_;
  }

 private:
  // newc: "070701", 13 fields of 8 hex digits, name, NUL, pad to 4, data, pad to 4.
  void Entry(const std::string& name, unsigned mode, const std::string& data) {
    char hdr[111];
    snprintf(hdr, sizeof hdr, "070701%08X%08X%08X%08X%08X%08X%08zX%08X%08X%08X%08X%08zX%08X", ino_++, mode, 0u,
             0u, (mode & 040000) ? 2u : 1u, 0u, data.size(), 0u, 0u, 0u, 0u, name.size() + 1, 0u);
    out_ += hdr;
    out_ += name;
    out_ += '\0';
    Pad();
    out_ += data;
    Pad();
  }
  void Pad() {
    while (out_.size() % 4) out_ += '\0';
  }
  std::string out_;
  unsigned ino_ = 1;
};

bool Slurp(const std::string& path, std::string* out) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return false;
  std::stringstream ss;
  ss << in.rdbuf();
  *out = ss.str();
  return true;
}

}  // namespace

bool MakeScratchDisk(const std::string& path, int mib, std::string* err) {
  if (truncate(path.c_str(), 0) != 0) {
    std::ofstream create(path);
  }
  if (truncate(path.c_str(), off_t{mib} << 20) != 0) {
    *err = "cannot create " + path;
    return false;
  }
  std::string cmd = "mkfs.ext4 -q -F -E lazy_itable_init=1,lazy_journal_init=1 '" + path + "' >/dev/null 2>&1";
  if (system(cmd.c_str()) != 0) {
    *err = "mkfs.ext4 failed on " + path + " (is e2fsprogs installed?)";
    return false;
  }
  return true;
}

bool WriteInitramfs(const std::string& out_path, const std::string& executor_path,
                    const std::vector<std::string>& modules, std::string* err) {
  CpioWriter cpio;
  for (const char* d : {"dev", "proc", "sys", "tmp", "modules"}) cpio.Dir(d);
  std::string data;
  if (!Slurp(executor_path, &data)) {
    *err = "cannot read the executor " + executor_path;
    return false;
  }
  cpio.File("init", 0755, data);
  std::string load;
  for (const std::string& m : modules) {
    std::string base;
    if (!ReadModule(m, &data, &base, err)) return false;
    cpio.File("modules/" + base, 0644, data);
    load += base + "\n";
  }
  cpio.File("modules/load", 0644, load);
  std::string tmp = out_path + ".tmp." + std::to_string(getpid());
  {
    std::ofstream out(tmp, std::ios::binary);
    out << cpio.Finish();
    if (!out.flush()) {
      *err = "cannot write " + tmp;
      return false;
    }
  }
  if (rename(tmp.c_str(), out_path.c_str()) != 0) {
    *err = "cannot rename " + tmp + " to " + out_path;
    unlink(tmp.c_str());
    return false;
  }
  return true;
}

}  // namespace mmdiff::vm
