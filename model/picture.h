// ASCII pictures of a process's address space, one character per page, in the
// style of the kernel's tools/testing/vma tests: used in divergence reports,
// model tests and debug output.
//
//   p0 pages [0,16)
//   page  0         10
//   vma   Aaaa....Mmmm      first page of each VMA in upper case:
//                           a anon, s shared anon (shmem), m memfd, f file
//   prot  wwww....RRRR      n none, r r, w rw, x rx, X rwx; upper case = shared (# = shared rwx)
//   vmasd dddd....dddd      VM_SOFTDIRTY
//   uffd  ....wwww....      w wp (sync), a wp (async), m missing, n minor, + several
//   pte   za.....m.cc.      . none, z zero page, a anon page, c page-cache page,
//                           s swap, m uffd-wp marker, g guard marker
//   doubt          .   m    (only when some PTE is doubtful, state.h Doubt) what
//                           the kernel may hold instead: . none, m marker, * other bits
//   sd    .1......11..      soft-dirty PTE bit
//   wp    ..1....1....      uffd-wp PTE bit (markers included)
//   excl  .x.......x..      page mapped exactly once
//   pt    ++++++++++++      PTE table of the 2 MiB slot: + present, ? unknown, blank absent
#pragma once

#include <cstdint>
#include <string>

#include "model/model.h"

namespace mmdiff {

std::string DrawAddressSpace(const Model& model, int proc, uint32_t lo, uint32_t hi);
// The pages worth drawing for an op on [page, page + npages): every VMA of the
// process and the op's range, narrowed to at most `max_width` pages around it.
void PictureRange(const Model& model, int proc, uint32_t page, uint32_t npages, uint32_t max_width,
                  uint32_t* lo, uint32_t* hi);

}  // namespace mmdiff
