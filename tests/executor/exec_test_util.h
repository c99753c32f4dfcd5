// Helpers for the executor tests: programs written as .mmp lines, each with
// the result the running kernel must give, checked field by field on the
// Trace (not through ResultMatches, so the tests do not depend on the text
// format's own comparison).
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "prog/op.h"
#include "prog/program.h"
#include "prog/result.h"
#include "prog/text.h"
#include "target/target.h"

namespace mmdiff::exectest {

// Pagemap bits, as in docs/FORMAT.md's "P S F X W D" (+G).
constexpr uint64_t P = kPmPresent;
constexpr uint64_t S = kPmSwap;
constexpr uint64_t F = kPmFile;
constexpr uint64_t X = kPmMmapExclusive;
constexpr uint64_t W = kPmUffdWp;
constexpr uint64_t G = kPmGuardRegion;
// Compared bits: soft-dirty is left out (this host has none; a kernel with
// CONFIG_MEM_SOFT_DIRTY sets it on every new VMA).
constexpr uint64_t kCompared = kPmShownBits & ~kPmSoftDirty;

struct Expect {
  enum class What { kRan, kOk, kValue, kErr, kFault, kPagemap, kScan };
  What what = What::kRan;  // kRan: only "the op ran" (not none/hang/lost)
  int64_t value = 0;       // kValue; kScan: the ioctl's return
  int err = 0;
  int signal = 0;
  uint8_t faults = 0;      // kOk, kValue: exact uffd_faults
  std::vector<uint64_t> pagemap;
  std::vector<ScanRegion> regions;
  uint64_t walk_end = 0;
};

inline Expect Ran() { return {}; }
inline Expect Ok(uint8_t faults = 0) { return {.what = Expect::What::kOk, .faults = faults}; }
inline Expect Val(int64_t v, uint8_t faults = 0) {
  return {.what = Expect::What::kValue, .value = v, .faults = faults};
}
inline Expect Err(int e) { return {.what = Expect::What::kErr, .err = e}; }
inline Expect Fault(int sig) { return {.what = Expect::What::kFault, .signal = sig}; }
inline Expect Pm(std::vector<uint64_t> entries) {
  return {.what = Expect::What::kPagemap, .pagemap = std::move(entries)};
}
inline Expect Scan(std::vector<ScanRegion> regions, uint64_t walk_end) {
  Expect e{.what = Expect::What::kScan, .regions = std::move(regions), .walk_end = walk_end};
  e.value = static_cast<int64_t>(e.regions.size());
  return e;
}

struct Step {
  std::string op;  // one .mmp line without "=>"
  Expect expect;
  Step(const char* o, Expect e = Ran()) : op(o), expect(std::move(e)) {}
};

inline std::string KindName(ResultKind k) {
  switch (k) {
    case ResultKind::kNone: return "none";
    case ResultKind::kOk: return "ok";
    case ResultKind::kValue: return "value";
    case ResultKind::kErr: return "err";
    case ResultKind::kFault: return "fault";
    case ResultKind::kPagemap: return "pagemap";
    case ResultKind::kHang: return "hang";
    case ResultKind::kLost: return "lost";
  }
  return "?";
}

inline std::string Tokens(const std::vector<uint64_t>& entries) {
  std::string s;
  for (uint64_t e : entries) s += (s.empty() ? "" : " ") + PagemapToken(e);
  return s;
}

inline std::string Regions(const std::vector<ScanRegion>& regions, uint64_t walk_end) {
  std::string s;
  for (const ScanRegion& r : regions)
    s += "[" + std::to_string(r.start) + "," + std::to_string(r.end) + "):" +
         CategoriesToLetters(r.categories) + " ";
  return s + "end=" + std::to_string(walk_end);
}

inline std::string ProgramText(const std::vector<Step>& steps) {
  std::string text;
  for (const Step& s : steps) text += s.op + "\n";
  return text;
}

inline void Parse(const std::string& text, Program* prog) {
  TextError err;
  ASSERT_TRUE(ParseProgram(text, "test.mmp", prog, &err)) << err.ToString() << "\n" << text;
}

inline void RunProgram(Target* target, const Program& prog, Trace* trace) {
  std::string err;
  ASSERT_TRUE(target->Run(prog, trace, &err)) << err;
  ASSERT_EQ(trace->results.size(), prog.ops.size());
}

// Checks one result; `where` names the op in failure messages.
inline void CheckResult(const Expect& want, const Result& got, const std::string& where) {
  SCOPED_TRACE(where + " => " + KindName(got.kind));
  using What = Expect::What;
  EXPECT_NE(got.kind, ResultKind::kNone);
  EXPECT_NE(got.kind, ResultKind::kHang);
  EXPECT_NE(got.kind, ResultKind::kLost);
  switch (want.what) {
    case What::kRan:
      break;
    case What::kOk:
      EXPECT_EQ(got.kind, ResultKind::kOk) << "err=" << ErrnoName(got.err) << " signal=" << got.signal;
      EXPECT_EQ(got.uffd_faults, want.faults);
      break;
    case What::kValue:
      EXPECT_EQ(got.kind, ResultKind::kValue) << "err=" << ErrnoName(got.err) << " signal=" << got.signal;
      EXPECT_FALSE(got.is_scan);
      EXPECT_EQ(got.value, want.value);
      EXPECT_EQ(got.uffd_faults, want.faults);
      break;
    case What::kErr:
      EXPECT_EQ(got.kind, ResultKind::kErr);
      EXPECT_EQ(ErrnoName(got.err), ErrnoName(want.err));
      break;
    case What::kFault:
      EXPECT_EQ(got.kind, ResultKind::kFault);
      EXPECT_EQ(got.signal, want.signal);
      break;
    case What::kPagemap: {
      EXPECT_EQ(got.kind, ResultKind::kPagemap) << "err=" << ErrnoName(got.err);
      std::vector<uint64_t> masked;
      for (uint64_t e : got.pagemap) masked.push_back(e & kCompared);
      EXPECT_TRUE(masked == want.pagemap)
          << "  got:  " << Tokens(masked) << "\n  want: " << Tokens(want.pagemap);
      break;
    }
    case What::kScan:
      EXPECT_EQ(got.kind, ResultKind::kValue) << "err=" << ErrnoName(got.err);
      EXPECT_TRUE(got.is_scan);
      EXPECT_EQ(got.value, want.value);
      EXPECT_TRUE(got.regions == want.regions && got.walk_end == want.walk_end)
          << "  got:  " << Regions(got.regions, got.walk_end)
          << "\n  want: " << Regions(want.regions, want.walk_end);
      break;
  }
}

// Parses the steps as one program, runs it and checks every step.
inline void RunSteps(Target* target, const std::vector<Step>& steps, Trace* trace) {
  Program prog;
  ASSERT_NO_FATAL_FAILURE(Parse(ProgramText(steps), &prog));
  ASSERT_EQ(prog.ops.size(), steps.size());
  ASSERT_NO_FATAL_FAILURE(RunProgram(target, prog, trace));
  for (size_t i = 0; i < steps.size(); i++)
    CheckResult(steps[i].expect, trace->results[i],
                "op " + std::to_string(i) + " '" + steps[i].op + "'");
}

inline std::unique_ptr<Target> MakeTestTarget(int timeout_ms = 5000, int memory_mb = 1024) {
  TargetOptions options;
  options.executor_path = MMDIFF_EXECUTOR_PATH;
  options.program_timeout_ms = timeout_ms;
  options.program_memory_mb = memory_mb;
  std::string err;
  auto target = MakeLocalTarget(options, &err);
  EXPECT_TRUE(target) << err;
  return target;
}

// The running kernel through a local executor, with its measured features
// (null, a test failure, when it cannot start).
inline std::unique_ptr<Target> LocalTarget(KernelFeatures* features) {
  TargetOptions options;
  options.executor_path = MMDIFF_EXECUTOR_PATH;
  std::string err;
  std::unique_ptr<Target> target = MakeLocalTarget(options, &err);
  EXPECT_TRUE(target) << err;
  if (target && !target->Probe(features, &err)) ADD_FAILURE() << err;
  return target;
}

}  // namespace mmdiff::exectest
