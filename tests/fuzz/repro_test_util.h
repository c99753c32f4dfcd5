// Shared by the reproducer tests on the local kernel and in the guest: C
// built as a user builds it (fuzz/repro_build.h, plus -Werror) and run on a
// target's kernel through its executor (Target::RunBinary).
#pragma once

#include <dirent.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "fuzz/repro.h"
#include "fuzz/repro_build.h"
#include "model/judge.h"
#include "prog/text.h"
#include "target/target.h"

namespace mmdiff::reprotest {

inline Program Parse(const std::string& text) {
  Program prog;
  TextError err;
  EXPECT_TRUE(ParseProgram(text, "test.mmp", &prog, &err)) << err.ToString();
  return prog;
}

// The .mmp files of `dir`, sorted.
inline std::vector<std::string> MmpFiles(const std::string& dir) {
  std::vector<std::string> files;
  if (DIR* d = opendir(dir.c_str())) {
    while (dirent* e = readdir(d)) {
      std::string n = e->d_name;
      if (n.size() > 4 && n.compare(n.size() - 4, 4, ".mmp") == 0) files.push_back(n);
    }
    closedir(d);
  }
  std::sort(files.begin(), files.end());
  return files;
}

// Warning-free or a test failure with the compiler's output; empty on failure.
inline std::vector<uint8_t> Compile(const std::string& name, const std::string& source) {
  std::vector<uint8_t> binary;
  std::string err;
  if (!CompileRepro(source, {"-Werror"}, &binary, &err)) ADD_FAILURE() << name << ": " << err;
  return binary;
}

// Runs `binary` on `target`'s kernel: its exit status (-1: killed, with the
// signal in `out`) and its output.
inline int RunOn(Target* target, const std::vector<uint8_t>& binary, std::string* out,
                 const std::vector<std::string>& args = {}) {
  BinaryRun run;
  std::string err;
  if (!target->RunBinary(binary, args, 60000, &run, &err)) {
    ADD_FAILURE() << "cannot run the binary: " << err;
    return -2;
  }
  *out = run.output;
  if (!run.console.empty()) *out += "\nkernel console:\n" + run.console;
  if (run.exit_code < 0) *out += "\n(" + ReproOutcome(run) + ")";
  return run.exit_code;
}

inline std::string FirstLine(const std::string& s) { return s.substr(0, s.find('\n')); }

inline std::string LastLine(const std::string& s) {
  std::string t = s;
  while (!t.empty() && t.back() == '\n') t.pop_back();
  size_t nl = t.rfind('\n');
  return nl == std::string::npos ? t : t.substr(nl + 1);
}

// Parses the program at `path` and runs it on `target`; false (a test
// failure) when either fails.
inline bool ParseAndRun(Target* target, const std::string& path, Program* prog, Trace* trace) {
  TextError terr;
  std::string err;
  if (!ParseProgramFile(path, prog, &terr)) {
    ADD_FAILURE() << terr.ToString();
    return false;
  }
  if (!target->Run(*prog, trace, &err)) {
    ADD_FAILURE() << path << ": " << err;
    return false;
  }
  return true;
}

struct CorpusAsC {
  int ran = 0, forks = 0, uffds = 0, scans = 0, soft_dirty = 0;
};

// The C does exactly what the executor does: every program of `dir` that
// passes on `target` (without needing a known quirk) passes as C on the same
// kernel, with every one of its "=> RESULT"s checked.
inline CorpusAsC CorpusPassesAsC(Target* target, const KernelProfile& profile, const std::string& dir) {
  CorpusAsC n;
  for (const std::string& f : MmpFiles(dir)) {
    Program prog;
    Trace trace;
    if (!ParseAndRun(target, dir + "/" + f, &prog, &trace)) continue;
    Judgement j = JudgeKernelRun(prog, trace, profile);
    if (j.kind != Judgement::Kind::kPass || !j.line.empty()) continue;  // skipped, or needed a quirk
    ReproSpec spec = SpecForJudgement(prog, j);
    if (spec.checks.empty()) continue;
    auto bin = Compile(f, WriteReproC(prog, spec));
    if (bin.empty()) continue;
    std::string out;
    EXPECT_EQ(RunOn(target, bin, &out), 0) << f << "\n" << out;
    EXPECT_EQ(out, "PASS\n") << f;  // once: only the conductor (or p0) says it
    n.ran++;
    n.forks += prog.NumProcs() > 1;
    for (const Op& op : prog.ops) {
      n.uffds += op.kind == OpKind::kUffdOpen;
      n.scans += op.kind == OpKind::kScan;
      n.soft_dirty += op.kind == OpKind::kRequires && (op.required_features & kFeatSoftDirty);
    }
  }
  return n;
}

// The corpus's diverging examples (corpus/quirks/, one per known kernel
// quirk): with no quirk allowed, a program the kernel under `target` fails
// (it has the quirk) FAILs as C there, and one it passes (fixed) PASSes.
struct QuirksAsC {
  std::vector<std::string> failed, passed;
};
inline QuirksAsC QuirkProgramsAsC(Target* target, KernelProfile profile, const std::string& dir) {
  QuirksAsC result;
  profile.quirks = {};
  for (const std::string& f : MmpFiles(dir)) {
    Program prog;
    Trace trace;
    if (!ParseAndRun(target, dir + "/" + f, &prog, &trace)) continue;
    Judgement j = JudgeKernelRun(prog, trace, profile);
    if (j.kind == Judgement::Kind::kSkip) continue;
    bool fails = j.kind == Judgement::Kind::kFail;
    auto bin = Compile(f, WriteReproC(prog, SpecForJudgement(prog, j)));
    if (bin.empty()) continue;
    std::string out;
    EXPECT_EQ(RunOn(target, bin, &out), fails ? 1 : 0) << f << ": " << j.line << "\n" << out;
    EXPECT_EQ(FirstLine(out).substr(0, 6), fails ? "FAIL: " : "PASS") << f << "\n" << out;
    (fails ? result.failed : result.passed).push_back(f.substr(0, f.size() - 4));
  }
  return result;
}

}  // namespace mmdiff::reprotest
