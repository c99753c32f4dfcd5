// Programs on which a campaign found the model wrong on this machine's
// kernel (a false divergence, docs/CONTRACT.md §12 triage), run here and
// judged with the measured profile: never a divergence again (passing, or
// declared unmodelled where the model cannot follow the kernel).
#include <gtest/gtest.h>

#include "model/checker.h"
#include "model/profile.h"
#include "prog/text.h"
#include "target/target.h"
#include "tests/executor/exec_test_util.h"

namespace mmdiff {
namespace {

struct Found {
  const char* what;
  const char* program;
  int runs = 3;  // one for a program that hangs until the executor's timeout
};

constexpr Found kFound[] = {
    // fork-drops-uffd-wp campaign, 6.18.44: the first MADV_PAGEOUT may unmap
    // the shmem page (a doubt), uffd_wp then leaves a marker where it did;
    // re-registered for MISSING only, the second MADV_PAGEOUT's doubt
    // replaced the first and the marker's state was forbidden.
    {"a second pageout of a page in doubt",
     "requires uffd_wp\nmmap 0 1 rw anon shared\nwrite 0\nmadvise 0 1 pageout\nuffd_open\nuffd_register 0 1 wp\n"
     "uffd_wp 0 1 on\nuffd_register 0 1 missing\nmadvise 0 1 pageout\npagemap 0 1\n"},
    // fork-drops-uffd-wp campaign, 6.18.44: mprotect made a PTE whose
    // uffd-wp bit went stale (re-registered for MISSING) writable; after
    // registering for WP again the model expected a wp fault on the write.
    {"mprotect of a stale uffd-wp bit",
     "requires uffd_wp\nmemfd 4 1\nmmap 0 1 rw memfd:4+0 shared\nuffd_open\nuffd_register 0 1 wp\nwrite 0\n"
     "uffd_wp 0 1 on\nuffd_register 0 1 missing\nmprotect 0 1 rwx\nuffd_register 0 1 wp\nwrite 0\n"},
    // cow-write-shares-page campaign, 6.18.44 (ext4 /tmp): writes through a
    // MADV_HUGEPAGE mapping of a regular file made a large folio; a hole
    // punched in it split it, which unmapped its other pages.
    {"a hole that splits a large file folio",
     "file 7 4\nmmap 680 1 rw file:7+0 shared\nmremap 680 1 4 move 178\nmadvise 181 1 hugepage\nwrite 181\n"
     "write 179\nfpunch 7 3 1\npagemap 179 1\n"},
    // mask-ignores-inverted campaign, 6.18.44: the file slot created again
    // (the same inode, O_TRUNC) and mapped next to its first mapping: two
    // struct files, so the VMAs do not merge and an mremap over both fails.
    {"two opens of one file do not merge",
     "file 0 1\nmmap 0 1 rw file:0+0 private\nfile 0 1\nmmap 1 6 rw file:0+1 private\nmremap 0 7 8\n"},
    // dontneed-keeps-anon campaign, 6.18.44: after the write the page's
    // doubt was only its stale uffd-wp bit (two present PTEs), which the
    // second pageout counted as a second mapping and left the page alone;
    // reclaim unmapped it.
    {"a pageout of a page whose uffd-wp bit is in doubt",
     "requires uffd_wp\nmmap 0 1 rw anon shared\nwrite 0\nmadvise 0 1 pageout\nuffd_open\nuffd_register 0 1 wp\n"
     "uffd_wp 0 1 on\nuffd_register 0 1 missing\nwrite 0\nmadvise 0 1 pageout\npagemap 0 1\n"},
    // huge-counts-zero-page and dontneed-keeps-anon campaigns, 6.18.44: p2
    // fetched its uffd (the unregister) from p1's handler, p1 exited, and
    // p2's minor fault waits for a reader that is gone. The model said so
    // where it knew whether the page was cached; after the pageout it ran
    // the access once per possibility and lost the verdict (unmodelled).
    {"a userfault nobody answers, the page maybe reclaimed",
     "memfd 2 1\nmmap 0 1 rw memfd:2+0 shared populate\nmadvise 0 1 pageout\nfork\n"
     "madvise 0 1 populate_read\np1: uffd_open event_fork\np1: uffd_register 0 1 minor\np1: fork\n"
     "p2: uffd_unregister 2 1\np1: exit\np2: write 0\n",
     1},
};

TEST(FalseDivergenceKernel, FoundOnceNeverAgain) {
  KernelFeatures features;
  std::unique_ptr<Target> target = exectest::LocalTarget(&features);
  ASSERT_TRUE(target);
  KernelProfile profile = MakeProfile(features);
  std::string err;
  for (const Found& f : kFound) {
    Program prog;
    TextError perr;
    ASSERT_TRUE(ParseProgram(f.program, f.what, &prog, &perr)) << perr.ToString();
    if ((prog.Requires() & features.features) != prog.Requires()) continue;
    for (int run = 0; run < f.runs; run++) {
      Trace trace;
      ASSERT_TRUE(target->Run(prog, &trace, &err)) << err;
      Verdict v = CheckTrace(prog, trace, profile);
      EXPECT_NE(v.status, Verdict::Status::kDivergence) << f.what << ": " << v.divergence->line;
    }
  }
}

}  // namespace
}  // namespace mmdiff
