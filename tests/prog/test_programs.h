// Programs shared by the prog/ tests: one row per op and argument form of
// docs/FORMAT.md. text_test.cc round-trips them through the text format,
// binary_test.cc through the binary codec.
#pragma once

#include <ostream>

namespace mmdiff {

struct RoundTripCase {
  const char* text;       // a program, lines separated by '\n', no trailing newline
  const char* canonical;  // what PrintProgram gives (no trailing newline); nullptr: same as text
};

inline void PrintTo(const RoundTripCase& c, std::ostream* os) { *os << '"' << c.text << '"'; }

inline constexpr RoundTripCase kRoundTripCases[] = {
    // requires: each feature word, none, several (printed in bit order).
    {"requires", nullptr},
    {"requires soft_dirty", nullptr},
    {"requires uffd_wp", nullptr},
    {"requires wp_async", nullptr},
    {"requires wp_unpopulated", nullptr},
    {"requires pagemap_scan", nullptr},
    {"requires scan_soft_dirty", nullptr},
    {"requires thp", nullptr},
    {"requires hugetlb", nullptr},
    {"requires swap", nullptr},
    {"requires guard", nullptr},
    {"requires swap soft_dirty thp", "requires soft_dirty thp swap"},
    {"requires soft_dirty uffd_wp wp_async wp_unpopulated pagemap_scan scan_soft_dirty thp hugetlb "
     "swap guard",
     nullptr},
    // mmap: every PROT, BACKING, SHARING and flag.
    {"mmap 0 1 none anon private", nullptr},
    {"mmap 0 1 r anon private", nullptr},
    {"mmap 0 1 rw anon private", nullptr},
    {"mmap 0 1 rx anon private", nullptr},
    {"mmap 0 1 rwx anon private", nullptr},
    {"mmap 0 4 rw anon shared", nullptr},
    {"mmap 8 2 rw memfd:0+0 shared", nullptr},
    {"mmap 8 2 rw memfd:7+262143 private", nullptr},
    {"mmap 8 2 rw memfd:3 shared", "mmap 8 2 rw memfd:3+0 shared"},
    {"mmap 8 2 r file:1+5 private", nullptr},
    {"mmap 8 2 r file:0x2+0x10 shared", "mmap 8 2 r file:2+16 shared"},
    {"mmap 8 2 r file:6 shared", "mmap 8 2 r file:6+0 shared"},
    {"mmap 0 1 rw anon private populate", nullptr},
    {"mmap 0 1 rw anon private noreserve", nullptr},
    {"mmap 0 1 rw anon private fixed", nullptr},
    {"mmap 0 512 rw anon private hugetlb", nullptr},
    {"mmap 0 512 rw anon shared hugetlb fixed noreserve populate",
     "mmap 0 512 rw anon shared populate noreserve fixed hugetlb"},
    {"mmap 1048575 1 rw anon private", nullptr},
    {"mmap 0 1048576 none anon private noreserve", nullptr},
    {"mmap 0x200 0x200 rw anon private", "mmap 512 512 rw anon private"},
    // munmap, mprotect.
    {"munmap 0 1", nullptr},
    {"munmap 0 0", nullptr},
    {"mprotect 0 4 none", nullptr},
    {"mprotect 0 4 r", nullptr},
    {"mprotect 0 4 rw", nullptr},
    {"mprotect 0 4 rx", nullptr},
    {"mprotect 0 4 rwx", nullptr},
    // mremap with and without move / dontunmap.
    {"mremap 0 2 4", nullptr},
    {"mremap 0 4 2", nullptr},
    {"mremap 0 2 2 move 100", nullptr},
    {"mremap 0 2 2 dontunmap", nullptr},
    {"mremap 0 2 2 move 100 dontunmap", nullptr},
    {"mremap 0 2 2 dontunmap move 100", "mremap 0 2 2 move 100 dontunmap"},
    {"mremap 1048574 2 4 move 0", nullptr},
    // madvise: every advice.
    {"madvise 0 1 dontneed", nullptr},
    {"madvise 0 1 free", nullptr},
    {"madvise 0 1 remove", nullptr},
    {"madvise 0 1 willneed", nullptr},
    {"madvise 0 1 pageout", nullptr},
    {"madvise 0 1 cold", nullptr},
    {"madvise 0 1 populate_read", nullptr},
    {"madvise 0 1 populate_write", nullptr},
    {"madvise 0 512 hugepage", nullptr},
    {"madvise 0 512 nohugepage", nullptr},
    {"madvise 0 1 dontfork", nullptr},
    {"madvise 0 1 dofork", nullptr},
    {"madvise 0 1 wipeonfork", nullptr},
    {"madvise 0 1 keeponfork", nullptr},
    {"madvise 0 1 guard_install", nullptr},
    {"madvise 0 1 guard_remove", nullptr},
    // read, write.
    {"read 0", nullptr},
    {"read 3 +0", nullptr},
    {"read 3 +4095", nullptr},
    {"read 3 +0x10", "read 3 +16"},
    {"write 0", nullptr},
    {"write 3 +17", nullptr},
    {"write 3 =0", nullptr},
    {"write 3 =255", nullptr},
    {"write 3 +1 =2", nullptr},
    {"write 3 =2 +1", "write 3 +1 =2"},
    {"write 3 =0x41", "write 3 =65"},
    // fork, exit, process prefixes.
    {"fork", nullptr},
    {"fork\np1: write 3", nullptr},
    {"fork\np1: fork\np2: read 0 +1\np2: exit\np1: exit\nwrite 0", nullptr},
    {"fork\nfork\np2: exit\np1: mmap 0 1 rw anon private", nullptr},
    {"p0: write 0", "write 0"},
    {"exit", nullptr},
    // clear_refs 1..5.
    {"clear_refs 1", nullptr},
    {"clear_refs 2", nullptr},
    {"clear_refs 3", nullptr},
    {"clear_refs 4", nullptr},
    {"clear_refs 5", nullptr},
    // Files.
    {"memfd 0 4", nullptr},
    {"memfd 7 262144", nullptr},
    {"file 1 0", nullptr},
    {"file 2 16", nullptr},
    {"ftruncate 1 8", nullptr},
    {"ftruncate 7 0", nullptr},
    {"fwrite 1 3", nullptr},
    {"fwrite 1 3 =0", nullptr},
    {"fwrite 7 262143 =200", nullptr},
    {"fpunch 1 0 4", nullptr},
    {"fpunch 0 262143 1", nullptr},
    // uffd_open: each feature word, none, all.
    {"uffd_open", nullptr},
    {"uffd_open wp_async", nullptr},
    {"uffd_open wp_unpopulated", nullptr},
    {"uffd_open wp_hugetlbfs_shmem", nullptr},
    {"uffd_open event_fork", nullptr},
    {"uffd_open event_remap", nullptr},
    {"uffd_open event_remove", nullptr},
    {"uffd_open event_unmap", nullptr},
    {"uffd_open event_unmap wp_async", "uffd_open wp_async event_unmap"},
    {"uffd_open wp_async wp_unpopulated wp_hugetlbfs_shmem event_fork event_remap event_remove "
     "event_unmap",
     nullptr},
    // uffd_register: each mode and combinations.
    {"uffd_register 0 4", nullptr},
    {"uffd_register 0 4 wp", nullptr},
    {"uffd_register 0 4 missing", nullptr},
    {"uffd_register 0 4 minor", nullptr},
    {"uffd_register 0 4 missing wp", nullptr},
    {"uffd_register 0 4 wp missing", "uffd_register 0 4 missing wp"},
    {"uffd_register 0 4 minor wp", "uffd_register 0 4 wp minor"},
    {"uffd_register 0 4 minor wp missing", "uffd_register 0 4 missing wp minor"},
    {"uffd_unregister 0 4", nullptr},
    // uffd_wp on/off, dontwake.
    {"uffd_wp 0 4 on", nullptr},
    {"uffd_wp 0 4 off", nullptr},
    {"uffd_wp 0 4 on dontwake", nullptr},
    {"uffd_wp 0 4 off dontwake", nullptr},
    // pagemap.
    {"pagemap 0 1", nullptr},
    {"pagemap 0 4096", nullptr},
    {"pagemap 1048575 1", nullptr},
    // scan: every option, category names, comma lists, 0x masks.
    {"scan 0 8", nullptr},
    {"scan 0 8 wp_matching", nullptr},
    {"scan 0 8 check_wpasync", nullptr},
    {"scan 0 8 check_wpasync wp_matching", "scan 0 8 wp_matching check_wpasync"},
    {"scan 0 8 req=wpallowed", nullptr},
    {"scan 0 8 req=written", nullptr},
    {"scan 0 8 req=file", nullptr},
    {"scan 0 8 req=present", nullptr},
    {"scan 0 8 req=swapped", nullptr},
    {"scan 0 8 req=pfnzero", nullptr},
    {"scan 0 8 req=huge", nullptr},
    {"scan 0 8 req=soft_dirty", nullptr},
    {"scan 0 8 req=guard", nullptr},
    {"scan 0 8 inv=written", nullptr},
    {"scan 0 8 any=present,swapped", nullptr},
    {"scan 0 8 ret=written", nullptr},
    {"scan 0 8 ret=present,written", "scan 0 8 ret=written,present"},
    {"scan 0 8 ret=wpallowed,written,file,present,swapped,pfnzero,huge,soft_dirty,guard", nullptr},
    {"scan 0 8 ret=0x1ff", "scan 0 8 ret=wpallowed,written,file,present,swapped,pfnzero,huge,soft_dirty,guard"},
    {"scan 0 8 req=0x3", "scan 0 8 req=wpallowed,written"},
    {"scan 0 8 req=0x400", nullptr},
    {"scan 0 8 inv=0x401", nullptr},
    {"scan 0 8 any=0xffff", nullptr},
    {"scan 0 8 ret=0x0", nullptr},
    {"scan 0 8 req=0x0", "scan 0 8"},
    {"scan 0 8 max=0", "scan 0 8"},
    {"scan 0 8 max=1", nullptr},
    {"scan 0 8 max=4294967295", nullptr},
    {"scan 0 8 vec=0", nullptr},
    {"scan 0 8 vec=1", nullptr},
    {"scan 0 8 vec=4096", nullptr},
    {"scan 0 8 wp_matching check_wpasync req=written inv=present any=file,huge ret=wpallowed,written "
     "max=2 vec=3",
     nullptr},
    {"scan 0 8 vec=3 max=2 ret=written any=file inv=present req=written check_wpasync wp_matching",
     "scan 0 8 wp_matching check_wpasync req=written inv=present any=file ret=written max=2 vec=3"},
    // Everything at once, in several processes.
    {"requires uffd_wp pagemap_scan\n"
     "memfd 0 8\n"
     "mmap 0 8 rw memfd:0+0 shared populate\n"
     "uffd_open wp_async wp_unpopulated\n"
     "uffd_register 0 8 wp\n"
     "fork\n"
     "p1: uffd_wp 0 8 on\n"
     "p1: write 1 +3 =9\n"
     "p1: scan 0 8 wp_matching check_wpasync ret=written vec=8\n"
     "p1: exit\n"
     "pagemap 0 8",
     nullptr},
};

}  // namespace mmdiff
