// model/hugetlb.cc without a kernel: the pool's arithmetic, the soft-dirty
// rule and the split errnos on a profile with 8 free huge pages, with the
// invariants (mapcounts of 512 entries per huge page, page references,
// the pool) checked after every op. The guest corpus
// (corpus/hugetlb_*.mmp) holds the same rules against the kernels.
#include <gtest/gtest.h>

#include "tests/model/model_test_util.h"

namespace mmdiff {
namespace {

KernelProfile WithPool(KernelProfile p) {
  p.hugetlb_free = 8;
  return p;
}

TEST(Hugetlb, ReservationsFaultsAndReleaseKeepThePoolCounted) {
  Model m = RunExpecting(WithPool(GuestProfile61()), R"(
mmap 0 3000 rw anon private hugetlb => ok
mmap 4096 1024 rw anon shared hugetlb => ok
mmap 8192 512 rw anon private hugetlb => err ENOMEM
mmap 8192 1024 rw anon private hugetlb noreserve => ok
write 8192 => fault BUS
write 0 => ok
munmap 0 512 => ok
write 8192 => ok
write 8704 => fault BUS
munmap 4096 1024 => ok
write 8704 => ok
)");
  // Five private reservations left; two noreserve pages in use.
  EXPECT_EQ(m.state().huge_rsvd, 5u);
  EXPECT_EQ(m.state().huge_free, 6u);
}

TEST(Hugetlb, PagemapSoftDirtyIsTheVmaFlagOnly) {
  // pagemap_hugetlb_range(): a write after clear_refs leaves D clear.
  RunExpecting(WithPool(GuestProfile61()), R"(
mmap 0 512 rw anon private hugetlb => ok
pagemap 0 1 => -----D
write 7 +5 =0x42 => ok
clear_refs 4 => ok
write 9 => ok
pagemap 0 1 => P--X--
pagemap 511 1 => P--X--
read 7 +5 => = 0x42
read 8 +5 => = 0x00
)");
}

TEST(Hugetlb, ScanReadsTheHugePteSoftDirtyBitClearRefsKeeps) {
  // The host profile with soft-dirty, as Debian 6.12 has it.
  KernelProfile prof = WithPool(HostProfile618());
  prof.soft_dirty = true;
  RunExpecting(prof, R"(
mmap 0 512 rw anon private hugetlb => ok
write 0 => ok
clear_refs 4 => ok
scan 0 512 => = 1 [0,512):wphd end=512
pagemap 0 1 => P--X--
)");
}

TEST(Hugetlb, SplitsOffAHugePageBoundaryAreRefused) {
  RunExpecting(WithPool(GuestProfile61()), R"(
mmap 0 1024 rw anon private hugetlb => ok
munmap 0 100 => err EINVAL
munmap 100 924 => err EINVAL
mprotect 512 1 r => err EINVAL
mprotect 512 512 r => ok
madvise 1 511 dontneed => err EINVAL
madvise 0 1024 free => err EINVAL
madvise 0 512 remove => err EACCES
munmap 512 512 => ok
pagemap 512 1 => ------
)");
}

TEST(Hugetlb, ForkSharesPrivatePagesUntilAWriteCopiesTheWholeHugePage) {
  RunExpecting(WithPool(GuestProfile61()), R"(
mmap 0 512 rw anon private hugetlb => ok
write 3 =0x11 => ok
fork => = p1
pagemap 0 1 => P----D
p1: write 400 =0x22 => ok
p1: read 3 => = 0x11
read 400 => = 0x00
pagemap 0 1 => P--X-D
)");
}

}  // namespace
}  // namespace mmdiff
