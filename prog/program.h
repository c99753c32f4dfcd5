// A program: ops in execution order, each with an optional expected result.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "prog/op.h"
#include "prog/result.h"

namespace mmdiff {

struct Program {
  std::vector<Op> ops;
  std::vector<Result> expect;  // per op; ResultKind::kNone = no "=> RESULT"
  std::vector<int> lines;      // per op: source line, 0 when not parsed from text

  void Add(const Op& op, const Result& expected = {}, int line = 0) {
    ops.push_back(op);
    expect.push_back(expected);
    lines.push_back(line);
  }
  uint32_t Requires() const;  // union of the `requires` ops
  int NumProcs() const;       // processes the program creates, p0 included

  bool operator==(const Program& o) const { return ops == o.ops && expect == o.expect; }
};

struct ProgramError {
  size_t op_index = 0;
  std::string message;
};

// Static well-formedness: every op runs in a process that exists (forked
// earlier, not exited), ranges stay inside the arena and the limits of op.h,
// enum values are in range. The kernel decides everything else (a program may
// munmap what it never mapped and expect EINVAL).
std::optional<ProgramError> Validate(const Program& prog);

}  // namespace mmdiff
