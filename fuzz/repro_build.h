// Building a C reproducer (fuzz/repro.h) into the static binary a target
// runs: `cc -O2 -static -Wall`, the command its header comment gives a user.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "executor/exec_binary.h"

namespace mmdiff {

// The C compiler: $CC, else cc, gcc or clang on $PATH; "" when there is none.
std::string FindCCompiler();

// Compiles `source` with `extra_flags` (e.g. "-Werror") after the default
// ones. False with the command and the compiler's output in `err`.
bool CompileRepro(const std::string& source, const std::vector<std::string>& extra_flags,
                  std::vector<uint8_t>* binary, std::string* err);

// The reproducer's verdict from its exit: "PASS", "FAIL", "SKIP", or what
// else ended it ("killed by signal 9", "timed out", "kernel splat").
std::string ReproOutcome(const BinaryRun& run);

}  // namespace mmdiff
