#include "prog/splat.h"

namespace mmdiff {

// lib/bug.c (BUG:, WARNING:, kernel BUG at), arch/x86/mm/fault.c and
// arch/x86/kernel/dumpstack.c (Oops, Unable to handle), mm/kasan/report.c,
// kernel/panic.c, kernel/rcu/tree_stall.h, kernel/hung_task.c,
// arch/x86/kernel/traps.c (general protection fault), lib/ubsan.c.
bool IsSplatLine(std::string_view line) {
  static constexpr std::string_view kPatterns[] = {
      "BUG:",          "WARNING:",        "Oops",
      "KASAN",         "Kernel panic",    "kernel BUG at",
      "general protection fault",         "rcu: INFO:",
      "self-detected stall",              "blocked for more than",
      "UBSAN:",        "Unable to handle kernel",
  };
  for (std::string_view p : kPatterns)
    if (line.find(p) != std::string_view::npos) return true;
  return false;
}

}  // namespace mmdiff
