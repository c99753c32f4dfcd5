#include "fuzz/findings.h"

#include <dirent.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "prog/text.h"

namespace mmdiff {
namespace {

uint64_t Fnv1a(const std::string& s) {
  uint64_t h = 0xcbf29ce484222325ULL;
  for (unsigned char c : s) h = (h ^ c) * 0x100000001b3ULL;
  return h;
}

// A splat line without what changes between runs: numbers, hex addresses.
std::string StripNumbers(const std::string& line) {
  std::string out;
  for (size_t i = 0; i < line.size(); i++) {
    if (isdigit(static_cast<unsigned char>(line[i]))) {
      while (i + 1 < line.size() && isxdigit(static_cast<unsigned char>(line[i + 1]))) i++;
      if (out.empty() || out.back() != '#') out += '#';
      continue;
    }
    out += line[i];
  }
  return out;
}

std::string SplatLine(const std::string& console) {
  std::istringstream in(console);
  std::string line;
  while (std::getline(in, line)) {
    // The line that named the failure (prog/splat.h patterns), from the first
    // word after the timestamp.
    size_t close = line.find("] ");
    std::string text = close == std::string::npos ? line : line.substr(close + 2);
    if (text.find("BUG") != std::string::npos || text.find("WARNING") != std::string::npos ||
        text.find("Oops") != std::string::npos || text.find("KASAN") != std::string::npos ||
        text.find("panic") != std::string::npos || text.find("stall") != std::string::npos ||
        text.find("blocked for more than") != std::string::npos || text.find("fault") != std::string::npos)
      return StripNumbers(text);
  }
  return "unknown";
}

std::string Annotated(const Program& prog, const Trace& trace) {
  std::string out;
  for (size_t i = 0; i < prog.ops.size(); i++) {
    out += PrintOp(prog.ops[i]);
    if (i < trace.results.size() && trace.results[i].kind != ResultKind::kNone)
      out += "  # kernel: " + PrintResult(prog.ops[i], trace.results[i]);
    out += "\n";
  }
  return out;
}

// meta.txt as key -> value; the `also` lines, which repeat, into *also.
std::map<std::string, std::string> ReadMeta(const std::string& path, std::vector<std::string>* also) {
  std::map<std::string, std::string> kv;
  std::ifstream in(path);
  std::string line;
  while (std::getline(in, line)) {
    size_t colon = line.find(": ");
    if (colon == std::string::npos) continue;
    std::string key = line.substr(0, colon), value = line.substr(colon + 2);
    if (key == "also") {
      if (also) also->push_back(value);
    } else {
      kv[key] = value;
    }
  }
  return kv;
}

}  // namespace

std::string FindingClass(const Judgement& j) {
  if (j.verdict.divergence) return std::string(DivergenceClassName(j.verdict.divergence->cls));
  if (j.line.rfind("KERNEL-SPLAT", 0) == 0) return "kernel-splat";
  if (j.line.rfind("HANG", 0) == 0) return "hang";
  if (j.line.rfind("EXPECTATION", 0) == 0) return "expectation";
  return "error";
}

std::string FindingSignature(const Judgement& j) {
  if (j.verdict.divergence) return j.verdict.divergence->signature;
  std::string cls = FindingClass(j);
  if (cls == "kernel-splat") return cls + "|" + SplatLine(j.detail);
  return cls;
}

std::string FindingName(const std::string& signature, const std::string& cls) {
  char hash[17];
  snprintf(hash, sizeof hash, "%016llx", static_cast<unsigned long long>(Fnv1a(signature)));
  return cls + "-" + std::string(hash, 12);
}

std::string MetaText(const std::string& signature, const std::string& cls, const std::string& mutant, uint64_t hits,
                     int reproduced, int runs, const std::string& cause, const std::vector<std::string>& also) {
  std::string m = "signature: " + signature + "\nclass: " + cls + "\n";
  if (!mutant.empty()) m += "mutant: " + mutant + " (a self-test finding: the model is broken on purpose)\n";
  m += "hits: " + std::to_string(hits) + "\nreproduced: " + std::to_string(reproduced) +
       "\nruns: " + std::to_string(runs) + "\nupdated: " + std::to_string(time(nullptr)) + "\n";
  if (!cause.empty()) m += "cause: " + cause + "\n";
  for (const std::string& a : also) m += "also: " + a + "\n";
  return m;
}

bool WriteFileAtomically(const std::string& path, const std::string& content) {
  // The temporary file is hidden (a leading dot) so that no one listing the
  // directory meanwhile (a user's ls, a test's snapshot of the corpus, a
  // merge) takes it for a file that was there and then lost; the thread id
  // keeps two threads writing the same file apart.
  size_t slash = path.rfind('/');
  std::string dir = slash == std::string::npos ? "" : path.substr(0, slash + 1);
  std::string base = slash == std::string::npos ? path : path.substr(slash + 1);
  std::string tmp = dir + "." + base + ".tmp." + std::to_string(getpid()) + "." + std::to_string(gettid());
  {
    std::ofstream out(tmp, std::ios::binary);
    out << content;
    if (!out.flush()) {
      unlink(tmp.c_str());
      return false;
    }
  }
  if (rename(tmp.c_str(), path.c_str()) == 0) return true;
  unlink(tmp.c_str());
  return false;
}

bool FindingStore::Open(const std::string& dir, std::string* err) {
  dir_ = dir;
  for (const std::string& d : {dir, dir + "/findings", dir + "/flaky"}) {
    if (mkdir(d.c_str(), 0755) != 0 && errno != EEXIST) {
      *err = "cannot create " + d + ": " + strerror(errno);
      return false;
    }
  }
  for (const char* sub : {"findings", "flaky"}) {
    DIR* d = opendir((dir + "/" + sub).c_str());
    while (dirent* e = d ? readdir(d) : nullptr) {
      if (e->d_name[0] == '.') continue;
      std::vector<std::string> also;
      auto kv = ReadMeta(dir + "/" + sub + "/" + e->d_name + "/meta.txt", &also);
      if (kv["signature"].empty()) continue;
      Entry& entry = by_signature_[kv["signature"]];
      entry.cls = kv["class"];
      entry.cause = kv["cause"];
      entry.also = also;
      for (const std::string& a : also) aliases_[a] = kv["signature"];
      entry.hits = strtoull(kv["hits"].c_str(), nullptr, 10);
      entry.reproduced = atoi(kv["reproduced"].c_str());
      entry.runs = atoi(kv["runs"].c_str());
      entry.flaky = std::string(sub) == "flaky";
    }
    if (d) closedir(d);
  }
  return true;
}

void FindingStore::WriteEntry(const std::string& sub, const std::string& name, const std::string& signature,
                              const Entry& e, const Program* prog, const Trace* trace, const Judgement* j) {
  std::string d = dir_ + "/" + sub + "/" + name;
  mkdir(d.c_str(), 0755);
  if (prog && j) {
    std::string report = j->line + "\nclass: " + e.cls + "\nsignature: " + signature + "\n";
    if (j->verdict.divergence) report += "where: " + j->verdict.divergence->where + "\n";
    if (!j->detail.empty()) report += "\n" + j->detail + "\n";
    WriteFileAtomically(d + "/divergence.txt", report);
    WriteFileAtomically(d + "/program.mmp", "# " + j->line + "\n" + Annotated(*prog, *trace));
    if (!trace->console.empty()) WriteFileAtomically(d + "/console.txt", trace->console);
  }
  // meta.txt last: a directory with meta.txt is complete.
  WriteFileAtomically(d + "/meta.txt", MetaText(signature, e.cls, mutant_, e.hits, e.reproduced, e.runs, e.cause, e.also));
}

std::string FindingStore::SignatureOf(const Judgement& j) const {
  return mutant_.empty() ? FindingSignature(j) : "model-mutant=" + mutant_ + "|" + FindingSignature(j);
}

bool FindingStore::Record(const Program& prog, const Trace& trace, const Judgement& j, int reproduced, int runs) {
  std::string signature = SignatureOf(j);
  std::lock_guard<std::mutex> lock(mu_);
  if (auto a = aliases_.find(signature); a != aliases_.end()) signature = a->second;  // folded into another
  auto known = by_signature_.find(signature);
  std::string cls = known != by_signature_.end() && !known->second.cls.empty() ? known->second.cls : FindingClass(j);
  auto [it, fresh] = by_signature_.try_emplace(signature);
  Entry& e = it->second;
  bool was_flaky = !fresh && e.flaky;
  e.cls = cls;
  e.hits++;
  bool now_flaky = reproduced < runs;
  // A signature once confirmed stays a finding; a flaky one is promoted when
  // a later hit reproduces every time.
  e.flaky = fresh ? now_flaky : (e.flaky && now_flaky);
  std::string name = FindingName(signature, cls);
  bool write_files = fresh || (was_flaky && !e.flaky);
  if (write_files) e.reproduced = reproduced, e.runs = runs;
  if (was_flaky && !e.flaky) {
    std::string from = dir_ + "/flaky/" + name, to = dir_ + "/findings/" + name;
    rename(from.c_str(), to.c_str());
  }
  WriteEntry(e.flaky ? "flaky" : "findings", name, signature, e, write_files ? &prog : nullptr, &trace, &j);
  return fresh;
}

std::string FindingStore::Fold(const std::string& signature, const std::string& key) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = by_signature_.find(signature);
  if (it == by_signature_.end() || it->second.flaky || key.empty()) return signature;
  for (auto& [sig, e] : by_signature_) {
    if (sig == signature || e.flaky || e.cause != key) continue;
    // The same minimized program: the same finding. Its hits and names move there.
    Entry gone = it->second;
    e.hits += gone.hits;
    e.also.push_back(signature);
    for (const std::string& a : gone.also) e.also.push_back(a);
    for (const std::string& a : e.also) aliases_[a] = sig;
    std::string dir = dir_ + "/findings/" + FindingName(signature, gone.cls);
    std::filesystem::remove_all(dir);
    by_signature_.erase(it);
    WriteEntry("findings", FindingName(sig, e.cls), sig, e, nullptr, nullptr, nullptr);
    return sig;
  }
  it->second.cause = key;
  WriteEntry("findings", FindingName(signature, it->second.cls), signature, it->second, nullptr, nullptr, nullptr);
  return signature;
}

std::string FindingStore::NameOf(const std::string& signature) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = by_signature_.find(signature);
  return it == by_signature_.end() ? "" : FindingName(signature, it->second.cls);
}

std::string FindingStore::SignatureNamed(const std::string& name) const {
  std::lock_guard<std::mutex> lock(mu_);
  for (auto& [sig, e] : by_signature_)
    if (FindingName(sig, e.cls) == name) return sig;
  return "";
}

size_t FindingStore::unique() const {
  std::lock_guard<std::mutex> lock(mu_);
  size_t n = 0;
  for (auto& [sig, e] : by_signature_) n += !e.flaky;
  return n;
}

size_t FindingStore::flaky() const {
  std::lock_guard<std::mutex> lock(mu_);
  size_t n = 0;
  for (auto& [sig, e] : by_signature_) n += e.flaky;
  return n;
}

uint64_t FindingStore::hits() const {
  std::lock_guard<std::mutex> lock(mu_);
  uint64_t n = 0;
  for (auto& [sig, e] : by_signature_) n += e.hits;
  return n;
}

}  // namespace mmdiff

namespace mmdiff {
namespace {

bool CopyFile(const std::string& from, const std::string& to) {
  std::ifstream in(from, std::ios::binary);
  if (!in) return false;
  std::stringstream ss;
  ss << in.rdbuf();
  return WriteFileAtomically(to, ss.str());
}

}  // namespace

bool MergeFindingDirs(const std::vector<std::string>& dirs, const std::string& out, MergeStats* stats,
                      std::string* err) {
  struct Seen {
    std::string entry, signature, cls, mutant, cause;
    std::vector<std::string> also;
    uint64_t hits = 0;
    int reproduced = 0, runs = 0;
    bool confirmed = false;
  };
  std::vector<Seen> seen;
  for (const std::string& dir : dirs) {
    struct stat st;
    if (stat((dir + "/findings").c_str(), &st) != 0) {
      *err = dir + ": not a campaign directory (no findings/)";
      return false;
    }
    stats->dirs++;
    for (const char* sub : {"findings", "flaky"}) {
      DIR* d = opendir((dir + "/" + sub).c_str());
      while (dirent* e = d ? readdir(d) : nullptr) {
        if (e->d_name[0] == '.') continue;
        Seen s;
        s.entry = dir + "/" + sub + "/" + e->d_name;
        auto kv = ReadMeta(s.entry + "/meta.txt", &s.also);
        if (kv["signature"].empty()) continue;  // incomplete: a campaign was killed mid-write
        s.signature = kv["signature"];
        s.cls = kv["class"];
        s.mutant = kv["mutant"].substr(0, kv["mutant"].find(' '));
        s.cause = kv["cause"];
        s.hits = strtoull(kv["hits"].c_str(), nullptr, 10);
        s.reproduced = atoi(kv["reproduced"].c_str());
        s.runs = atoi(kv["runs"].c_str());
        s.confirmed = std::string(sub) == "findings";
        seen.push_back(std::move(s));
      }
      if (d) closedir(d);
    }
  }
  // One entry per root cause: a confirmed, minimized finding's cause (with
  // its mutant: a self-test never folds into a real one) is its key, and so
  // for every signature folded into it; the rest by signature.
  std::map<std::string, std::string> key_of;  // signature -> key
  for (const Seen& s : seen)
    if (s.confirmed && !s.cause.empty()) {
      std::string key = "cause=" + s.mutant + "|" + s.cause;
      key_of[s.signature] = key;
      for (const std::string& a : s.also) key_of[a] = key;
    }
  struct Merged {
    Seen first;  // whose files and signature are kept
    std::vector<std::string> also;
    uint64_t hits = 0;
    bool flaky = true;
  };
  std::map<std::string, Merged> by_key;
  for (const Seen& s : seen) {
    auto k = key_of.find(s.signature);
    auto [it, fresh] = by_key.try_emplace(k != key_of.end() ? k->second : s.signature);
    Merged& m = it->second;
    if (!fresh) stats->duplicates++;
    if (fresh || (m.flaky && s.confirmed)) {
      if (!fresh) m.also.push_back(m.first.signature);
      m.first = s;
    } else if (s.signature != m.first.signature) {
      m.also.push_back(s.signature);
    }
    for (const std::string& a : s.also) m.also.push_back(a);
    m.flaky = m.flaky && !s.confirmed;
    m.hits += s.hits;
  }
  FindingStore store;
  if (!store.Open(out, err)) return false;
  for (auto& [key, m] : by_key) {
    const Seen& f = m.first;
    std::sort(m.also.begin(), m.also.end());
    m.also.erase(std::unique(m.also.begin(), m.also.end()), m.also.end());
    m.also.erase(std::remove(m.also.begin(), m.also.end(), f.signature), m.also.end());
    std::string name = FindingName(f.signature, f.cls);
    std::string to = out + "/" + (m.flaky ? "flaky/" : "findings/") + name;
    mkdir(to.c_str(), 0755);
    for (const char* file : {"program.mmp", "divergence.txt", "console.txt", "min.mmp", "repro.c", "report.txt"})
      CopyFile(f.entry + "/" + file, to + "/" + file);
    WriteFileAtomically(to + "/meta.txt",
                        MetaText(f.signature, f.cls, f.mutant, m.hits, f.reproduced, f.runs, f.cause, m.also));
    (m.flaky ? stats->flaky : stats->findings)++;
  }
  return true;
}

}  // namespace mmdiff
