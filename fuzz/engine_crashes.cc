#include "fuzz/engine_crashes.h"

#include <dirent.h>
#include <sys/stat.h>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <iterator>

#include "fuzz/engine_input.h"
#include "fuzz/record.h"
#include "model/judge.h"

namespace mmdiff {
namespace {

bool IsDir(const std::string& path) {
  struct stat st;
  return stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

std::vector<std::string> Entries(const std::string& dir) {
  std::vector<std::string> names;
  if (DIR* d = opendir(dir.c_str())) {
    while (dirent* e = readdir(d))
      if (e->d_name[0] != '.') names.push_back(e->d_name);
    closedir(d);
  }
  std::sort(names.begin(), names.end());
  return names;
}

bool StartsWith(const std::string& s, const char* prefix) { return s.rfind(prefix, 0) == 0; }

// AFL++'s crashes/ and hangs/ of one instance directory: id:* files (not
// its README.txt).
void AflInstanceCrashes(const std::string& instance, std::vector<std::string>* files) {
  for (const char* sub : {"crashes", "hangs"})
    for (const std::string& f : Entries(instance + "/" + sub))
      if (StartsWith(f, "id:")) files->push_back(instance + "/" + sub + "/" + f);
}

}  // namespace

bool IsCampaignDir(const std::string& dir) { return IsDir(dir + "/findings"); }

bool EngineCrashFiles(const std::string& dir, std::vector<std::string>* files, std::string* err) {
  if (!IsDir(dir)) {
    *err = dir + ": not a directory";
    return false;
  }
  for (const std::string& f : Entries(dir)) {
    std::string path = dir + "/" + f;
    // libFuzzer's artifacts: crash-SHA1, leak-SHA1, timeout-SHA1.
    if (StartsWith(f, "crash-") || StartsWith(f, "leak-") || StartsWith(f, "timeout-")) {
      if (!IsDir(path)) files->push_back(path);
    } else if (IsDir(path)) {
      AflInstanceCrashes(path, files);  // a sync directory's instance (main, secondaries)
    }
  }
  AflInstanceCrashes(dir, files);  // an instance directory itself
  return true;
}

void TakeInEngineCrashes(const std::vector<std::string>& files, FindingStore* store, Target* target,
                         const KernelProfile& profile, const CrashIntakeOptions& options, CrashIntakeStats* stats) {
  auto run = [&](const Program& prog, Trace* trace, Judgement* j) {
    std::string err;
    if (!target->Run(prog, trace, &err)) return false;
    *j = JudgeKernelRun(prog, *trace, profile);
    return true;
  };
  for (const std::string& file : files) {
    if (options.stop && options.stop->load()) break;
    stats->files++;
    std::ifstream in(file, std::ios::binary);
    std::vector<uint8_t> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    Program prog;
    if (!DecodeEngineInput(bytes, profile, &prog)) {
      stats->undecodable++;
      printf("%s: not a program the model models here (skipped)\n", file.c_str());
      continue;
    }
    // The engine saw it fail once; here it must fail again before it is
    // anything. The first failing run names the signature the others
    // confirm; passes before it count as runs that did not reproduce.
    Trace trace;
    Judgement j;
    int runs = 0, ran = 0;
    while (runs < options.confirm_runs && j.kind != Judgement::Kind::kFail) {
      runs++;
      trace = Trace{};
      j = Judgement{};
      if (run(prog, &trace, &j)) ran++;
    }
    if (j.kind != Judgement::Kind::kFail) {
      (ran ? stats->not_reproduced : stats->target_errors)++;
      printf("%s: %s in %d runs\n", file.c_str(), ran ? "did not fail" : "the target failed", runs);
      continue;
    }
    RecordOutcome r = ConfirmAndRecord(
        store, prog, trace, j, options.confirm_runs,
        [&](Trace* t, Judgement* j2) { return run(prog, t, j2) || true; }, 1, runs);
    stats->recorded++;
    std::string where = (IsDir(store->dir() + "/findings/" + r.name) ? "findings/" : "flaky/") + r.name;
    printf("%s: %s %s (%d/%d): %s\n", file.c_str(), r.fresh ? (r.confirmed ? "new finding" : "new flaky") : "hit",
           where.c_str(), r.reproduced, r.runs, j.line.c_str());
    if (!r.fresh) continue;
    (r.confirmed ? stats->new_findings : stats->new_flaky)++;
    if (!r.confirmed || !options.minimize) continue;
    std::string summary, err;
    if (MinimizeFinding(store, store->dir() + "/findings/" + r.name, prog, target, profile, options.stop, &summary, &err))
      printf("  minimized %s\n", summary.c_str());
    else
      printf("  not minimized: %s\n", err.c_str());
    fflush(stdout);
  }
}

}  // namespace mmdiff
