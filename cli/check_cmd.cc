// mmdiff check: many programs on a target, each checked against the model
// and its own expectations; one line per program and a summary.
#include <dirent.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <fstream>

#include "cli/args.h"
#include "cli/commands.h"
#include "cli/targets.h"
#include "model/judge.h"
#include "prog/text.h"

namespace mmdiff::cli {
namespace {

const char kCheckUsage[] =
    "usage: mmdiff check [FILE.mmp | DIR]... [--target T] [--vms N] [--save DIR] [--verbose]\n"
    "\n"
    "Runs each program on the target and checks every result against the model\n"
    "and against the program's own '=> EXPECTED' results (both the kernel's and\n"
    "the model's). Prints one line per program, PASS, SKIP (with the reason) or\n"
    "FAIL (with the first divergence and the address-space picture), then\n"
    "'N passed, N failed, N skipped'. Exit status 1 when any program failed.\n"
    "A DIR means every .mmp file in it.\n"
    "\n"
    "  --vms N        spread the programs over N guests (--target qemu)\n"
    "  --save DIR     write each failing program to DIR/NAME.mmp with its verdict\n"
    "  --verbose      print the picture of every failure in full\n";

struct Entry {
  std::string name;
  Program prog;
  std::string parse_error;
};

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

// Atomically: a crash never leaves half a program behind.
void SaveFailure(const std::string& dir, const std::string& name, const Program& prog, const Judgement& j) {
  mkdir(dir.c_str(), 0755);
  std::string base = name.substr(name.rfind('/') + 1);
  std::replace(base.begin(), base.end(), ':', '-');
  if (!EndsWith(base, ".mmp")) base += ".mmp";
  std::string path = dir + "/" + base, tmp = path + ".tmp";
  {
    std::ofstream out(tmp);
    out << "# " << j.line << "\n" << PrintProgram(prog);
  }
  rename(tmp.c_str(), path.c_str());
}

void PrintIndented(const std::string& text) {
  size_t pos = 0;
  while (pos < text.size()) {
    size_t nl = text.find('\n', pos);
    printf("    %s\n", text.substr(pos, nl - pos).c_str());
    if (nl == std::string::npos) break;
    pos = nl + 1;
  }
}

}  // namespace

int CheckCommand(int argc, char** argv) {
  Args args;
  std::string err;
  auto value_flags = TargetValueFlags();
  value_flags.insert({"vms", "save"});
  if (!ParseArgs(argc, argv, value_flags, {"verbose"}, &args, &err)) {
    fprintf(stderr, "mmdiff check: %s\n%s%s", err.c_str(), kCheckUsage, kTargetFlagsHelp);
    return 2;
  }
  if (args.Has("help")) {
    printf("%s%s", kCheckUsage, kTargetFlagsHelp);
    return 0;
  }
  std::vector<std::string> paths = ExpandPaths(args.positional, &err);
  if (!err.empty() || paths.empty()) {
    fprintf(stderr, "mmdiff check: %s\n", err.empty() ? "no programs to check" : err.c_str());
    return 2;
  }
  std::vector<Entry> entries;
  for (const std::string& p : paths) {
    Entry e{p, {}, ""};
    TextError text_err;
    if (!ParseProgramFile(p, &e.prog, &text_err)) e.parse_error = text_err.ToString();
    entries.push_back(std::move(e));
  }

  bool model_only = TargetName(args) == "model";
  TargetPool pool;
  KernelProfile profile;
  if (!OpenPool(args, &pool, &err) || !ProfileFor(args, pool.first(), &profile, &err)) {
    fprintf(stderr, "mmdiff check: %s\n", err.c_str());
    return 2;
  }
  int passed = 0, failed = 0, skipped = 0;
  AllowanceCounts granted{}, taken{};
  auto report = [&](const std::string& name, const Program& prog, const Judgement& j) {
    switch (j.kind) {
      case Judgement::Kind::kPass: passed++; printf("PASS %s\n", name.c_str()); break;
      case Judgement::Kind::kSkip: skipped++; printf("SKIP %s: %s\n", name.c_str(), j.line.c_str()); break;
      case Judgement::Kind::kFail:
        failed++;
        printf("FAIL %s: %s\n", name.c_str(), j.line.c_str());
        if (!j.detail.empty()) PrintIndented(args.Has("verbose") ? j.detail : j.detail.substr(0, 4000));
        if (args.values.count("save")) SaveFailure(args.Get("save"), name, prog, j);
        break;
    }
    for (int a = 0; a < kNumAllowances; a++) granted[a] += j.verdict.granted[a], taken[a] += j.verdict.taken[a];
    fflush(stdout);
  };
  auto judge = [&](const Entry& e, bool ok, const Trace& trace, const std::string& run_err) {
    if (!e.parse_error.empty()) return Judgement{Judgement::Kind::kFail, "ERROR " + e.parse_error, "", {}};
    if (model_only) return JudgeModelOnly(e.prog, profile);
    if (!ok) return Judgement{Judgement::Kind::kFail, "ERROR target: " + run_err, "", {}};
    return JudgeKernelRun(e.prog, trace, profile);
  };
  // Programs the target cannot run are skipped before they reach it.
  auto runnable = [&](const Entry& e) {
    return e.parse_error.empty() && !model_only && !(e.prog.Requires() & ~profile.features);
  };
  std::vector<size_t> to_run;
  for (size_t i = 0; i < entries.size(); i++)
    if (runnable(entries[i])) to_run.push_back(i);
  std::vector<std::optional<std::pair<bool, Trace>>> traces(entries.size());
  std::vector<std::string> errors(entries.size());
  pool.RunAll(
      to_run.size(), [&](size_t k) { return entries[to_run[k]].prog; },
      [&](size_t k, const Program&, bool ok, const Trace& t, const std::string& e) {
        traces[to_run[k]] = std::make_pair(ok, t);
        errors[to_run[k]] = e;
      });
  for (size_t i = 0; i < entries.size(); i++) {
    const Entry& e = entries[i];
    Trace none;
    bool ok = traces[i] ? traces[i]->first : true;
    report(e.name, e.prog, judge(e, ok, traces[i] ? traces[i]->second : none, errors[i]));
  }
  for (int a = 0; a < kNumAllowances; a++)
    if (granted[a])
      printf("allowance %s: granted %u, taken %u\n", std::string(AllowanceName(static_cast<Allowance>(a))).c_str(),
             granted[a], taken[a]);
  printf("%d passed, %d failed, %d skipped\n", passed, failed, skipped);
  return failed ? 1 : 0;
}

}  // namespace mmdiff::cli
