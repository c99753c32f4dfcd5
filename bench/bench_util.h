// What the end-to-end benchmarks share: their clock and their "--flag value"
// command lines.
#pragma once

#include <time.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <string>

#include "target/target.h"

namespace mmdiff::bench {

inline double Now() {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec * 1e-9;
}

// Calls `set(flag, value)` for each "--flag value" pair of argv. -h or
// --help prints `usage` and exits 0; a flag without a value, or one `set`
// does not know (returns false), prints `usage` and exits 2.
inline void ParseFlags(const char* name, int argc, char** argv, const char* usage,
                       const std::function<bool(const std::string& flag, const char* value)>& set) {
  for (int i = 1; i < argc; i += 2) {
    if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
      printf("%s", usage);
      exit(0);
    }
    if (i + 1 >= argc) {
      fprintf(stderr, "%s: %s needs a value\n%s", name, argv[i], usage);
      exit(2);
    }
    if (!set(argv[i], argv[i + 1])) {
      fprintf(stderr, "%s: unknown option '%s'\n%s", name, argv[i], usage);
      exit(2);
    }
  }
}

// The flags that choose what a target runs: --kernel bzImage, --guest
// 6.12|6.1, --executor PATH (another build's executor, to compare two on
// the same machine and load). False for any other flag.
inline bool TargetFlag(const std::string& flag, const char* value, TargetOptions* o) {
  if (flag == "--kernel") o->kernel = value;
  else if (flag == "--guest") o->guest = value;
  else if (flag == "--executor") o->executor_path = value;
  else return false;
  return true;
}

}  // namespace mmdiff::bench
