// Kernel behaviours that legitimately differ between kernels, measured the
// way CRIU's kerndat measures them: a short program per behaviour, run on the
// target at probe time, and one op's answer decides. The model reads the
// resulting bits from its profile (model/profile.h) and never a release
// number: a kernel it has never seen gets the rule its own answers select.
//
// Each probe is a plain .mmp program, so it can be read, run by hand
// (`mmdiff run`), and checked against the model under either answer
// (tests/model/behaviour_test.cc).
#pragma once

#include <cstdint>
#include <span>
#include <string>

namespace mmdiff {

enum Behaviour : uint32_t {
  kBehWpRangeMultiVma = 1u << 0,
  kBehPopulateStopsAtHole = 1u << 1,
  kBehMprotectUnaccountsUnfaulted = 1u << 2,
  kBehAnonVmaMergeEitherSide = 1u << 3,
  kBehUffdRegisterPgoffFromRange = 1u << 4,
  kBehMremapGrowMergesNext = 1u << 5,
  kBehMremapOverlapCheckedFirst = 1u << 6,
  kBehMremapSourceCheckedFirst = 1u << 7,
  kBehMremapMovesManyVmas = 1u << 8,
  kBehDontunmapCopyMergesSource = 1u << 9,
  kBehDontunmapSourcePgoffReset = 1u << 10,
  kBehMmapMergesPrevFirst = 1u << 11,
  kBehHugeZeroWriteMapsThp = 1u << 12,
  kBehThpSplitDirtiesPtes = 1u << 13,
  kBehThpSplitMapsZeroPage = 1u << 14,
  kBehMigrationKeepsSoftDirty = 1u << 15,
  kBehFileFoliosMayBeLarge = 1u << 16,
};

struct BehaviourProbe {
  Behaviour bit;
  const char* name;      // as `mmdiff probe` prints it
  const char* meaning;   // what "yes" means, with the kernel function that decides
  const char* program;   // .mmp text; its `requires` line says where it can run
  int op;                // index of the op whose result decides (a `requires` line counts)
  // The printed result (PrintResult) of that op starts with `yes` or with
  // `no`; anything else leaves the behaviour unmeasured (the model keeps the
  // current kernels' rule and `mmdiff probe` says so).
  const char* yes;
  const char* no;
};

std::span<const BehaviourProbe> BehaviourProbes();
const BehaviourProbe* BehaviourByName(const std::string& name);

}  // namespace mmdiff
