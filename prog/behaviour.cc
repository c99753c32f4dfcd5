#include "prog/behaviour.h"

namespace mmdiff {
namespace {

// Merges cannot be seen directly; "mremap A LEN LEN+1" can see them: growing
// in place needs the old range inside one VMA (mm/mremap.c vma_to_resize():
// "We can't remap across vm area boundaries" → EFAULT), so it answers ok
// exactly when the VMAs before it merged.
constexpr BehaviourProbe kProbes[] = {
    {kBehWpRangeMultiVma, "wp_range_multi_vma",
     "UFFDIO_WRITEPROTECT walks every VMA of the range (mm/userfaultfd.c "
     "mwriteprotect_range(): for_each_vma_range); older kernels want one VMA (find_dst_vma(): ENOENT)",
     "requires uffd_wp\n"
     "mmap 0 1 rw anon private\n"
     "mmap 1 1 r anon private\n"
     "uffd_open\n"
     "uffd_register 0 2 wp\n"
     "uffd_wp 0 2 on\n",
     5, "ok", "err ENOENT"},
    {kBehPopulateStopsAtHole, "populate_stops_at_hole",
     "MADV_POPULATE_(READ|WRITE) fails with ENOMEM at the first hole (mm/madvise.c madvise_populate()); "
     "older kernels skip the hole, populate what follows and answer ENOMEM at the end (madvise_walk_vmas())",
     "mmap 0 1 rw anon private\n"
     "mmap 2 1 rw anon private\n"
     "madvise 0 3 populate_write\n"
     "pagemap 2 1\n",
     3, "-", "P"},
    {kBehMprotectUnaccountsUnfaulted, "mprotect_unaccounts_unfaulted",
     "mprotect() read-only drops VM_ACCOUNT of an anonymous VMA that never faulted (mm/mprotect.c "
     "mprotect_fixup(): vma_is_anonymous() && !vma->anon_vma), so it merges with an unaccounted neighbour",
     "mmap 0 1 rw anon private\n"
     "mmap 1 1 r anon private\n"
     "mprotect 0 1 r\n"
     "mremap 0 2 3\n",
     3, "ok", "err EFAULT"},
    {kBehAnonVmaMergeEitherSide, "anon_vma_merge_either_side",
     "a VMA with an anon_vma merges into a neighbour without one (mm/vma.c is_mergeable_anon_vma() tests "
     "the anon_vma_chain of the VMA that has one); older kernels test the neighbour's chain, empty, and refuse",
     "mmap 0 1 rw anon private\n"
     "write 0\n"
     "mprotect 0 1 r\n"
     "mmap 1 1 rw anon private\n"
     "mprotect 0 1 rw\n"
     "mremap 0 2 3\n",
     5, "ok", "err EFAULT"},
    {kBehUffdRegisterPgoffFromRange, "uffd_register_pgoff_from_range",
     "UFFDIO_(UN)REGISTER from inside a VMA merges the new piece with the next VMA (fs/userfaultfd.c "
     "userfaultfd_register_range() passes the range's pgoff); older kernels pass the VMA's own vm_pgoff",
     "requires uffd_wp\n"
     "mmap 0 2 rw anon private\n"
     "mmap 2 2 r anon private\n"
     "uffd_open\n"
     "uffd_register 2 2 wp\n"
     "mprotect 2 2 rw\n"
     "uffd_register 1 1 wp\n"
     "mremap 1 3 4\n",
     7, "ok", "err EFAULT"},
    {kBehMremapGrowMergesNext, "mremap_grow_merges_next",
     "an mremap() grown in place merges with the next VMA it now touches (mm/vma.c vma_merge_extend()); "
     "older kernels extend with vma_adjust() and leave two VMAs",
     "mmap 0 1 rw anon private\n"
     "mmap 2 1 rw anon private\n"
     "mremap 0 1 2\n"
     "mremap 0 3 4\n",
     3, "ok", "err EFAULT"},
    {kBehMremapOverlapCheckedFirst, "mremap_overlap_checked_first",
     "mremap() refuses overlapping source and target ranges before looking up the source VMA "
     "(mm/mremap.c check_mremap_params(): EINVAL); older kernels look up first (EFAULT without a VMA) "
     "and check the overlap in mremap_to()",
     "mremap 100 2 2 move 101\n",
     0, "err EINVAL", "err EFAULT"},
    {kBehMremapSourceCheckedFirst, "mremap_source_checked_first",
     "a moving mremap() checks that the source range lies in its VMA before it unmaps the target "
     "(mm/mremap.c check_prep_vma()); older kernels unmap the target in mremap_to() and only then fail "
     "in vma_to_resize()",
     "mmap 0 1 rw anon private\n"
     "mmap 10 4 rw anon private\n"
     "mremap 0 3 4 move 10\n"
     "mmap 10 1 rw anon private\n",
     3, "err EEXIST", "ok"},
    {kBehMremapMovesManyVmas, "mremap_moves_many_vmas",
     "a fixed mremap() move without resize moves every VMA of the range (mm/mremap.c remap_move()); "
     "older kernels want the range in one VMA (vma_to_resize(): EFAULT)",
     "mmap 0 1 rw anon private\n"
     "mmap 1 1 r anon private\n"
     "mremap 0 2 2 move 10\n",
     2, "ok", "err EFAULT"},
    {kBehDontunmapCopyMergesSource, "dontunmap_copy_merges_source",
     "the copy an MREMAP_DONTUNMAP move makes merges with the source VMA beside it (mm/vma.c copy_vma() "
     "merges with any compatible neighbour); older kernels keep the two apart",
     "mmap 0 1 rw anon private\n"
     "mremap 0 1 1 move 1 dontunmap\n"
     "mremap 0 2 3\n",
     2, "ok", "err EFAULT"},
    {kBehDontunmapSourcePgoffReset, "dontunmap_source_pgoff_reset",
     "the source VMA an MREMAP_DONTUNMAP move of a whole faulted anonymous VMA leaves behind is unfaulted "
     "again and gets vm_pgoff = vm_start >> PAGE_SHIFT (mm/mremap.c move_vma(): pgoff_unfaulted), so a new "
     "mapping beside it merges with it; kernels without that keep the old pgoff and the two apart",
     "mmap 0 1 rw anon private populate\n"
     "mremap 0 1 17 move 21\n"
     "mremap 21 17 17 move 2 dontunmap\n"
     "mmap 20 1 rw anon private\n"
     "mremap 20 18 19\n",
     4, "ok", "err EFAULT"},
    {kBehMmapMergesPrevFirst, "mmap_merges_prev_first",
     "a new mapping between an unfaulted VMA and a faulted one merges with both (mm/vma.c "
     "vma_merge_new_range(): prev and next are each tested against the new area, whose anon_vma is NULL); "
     "older kernels try next first and then test prev against next's anon_vma (mm/mmap.c mmap_region(): "
     "can_vma_merge_after(prev, ..., vma->anon_vma)), which a prev without anon_vma fails",
     "mmap 0 1 rw anon private\n"
     "mmap 2 1 rw anon private\n"
     "write 2\n"
     "mmap 1 1 rw anon private\n"
     "mremap 0 3 4\n",
     4, "ok", "err EFAULT"},
    {kBehHugeZeroWriteMapsThp, "huge_zero_write_maps_thp",
     "a write to the huge zero page maps a new THP over its PMD (mm/huge_memory.c do_huge_pmd_wp_page() → "
     "do_huge_zero_wp_pmd()); older kernels split the PMD into 4K zero-page PTEs and copy the one page "
     "written (the split's other pages stay the zero page: not exclusive)",
     "requires thp\n"
     "mmap 0 512 rw anon private\n"
     "madvise 0 512 hugepage\n"
     "read 5\n"
     "write 5\n"
     "pagemap 6 1\n",
     5, "P--X", "P---"},
    {kBehThpSplitDirtiesPtes, "thp_split_dirties_ptes",
     "splitting a dirty THP PMD makes each PTE dirty, which sets soft-dirty on x86 (mm/huge_memory.c "
     "__split_huge_pmd_locked(): pte_mkdirty(), \"this may set soft-dirty too on some archs\"); older kernels "
     "(6.1) left the PTEs clean for sparc64's sake, so they keep only the PMD's own soft-dirty bit",
     "requires soft_dirty thp\n"
     "mmap 0 512 rw anon private\n"
     "madvise 0 512 hugepage\n"
     "write 0\n"
     "clear_refs 4\n"
     "mprotect 256 256 r\n"
     "pagemap 0 1\n",
     6, "P--X-D", "P--X--"},
    {kBehThpSplitMapsZeroPage, "thp_split_maps_zero_page",
     "splitting an anonymous THP's folio maps its zero-filled subpages to the shared zero page instead of "
     "keeping them (mm/huge_memory.c __split_huge_page() → remap_page(RMP_USE_SHARED_ZEROPAGE), "
     "mm/migrate.c try_to_map_unused_to_zeropage()); older kernels keep every subpage. MADV_PAGEOUT of part "
     "of a THP splits it (mm/madvise.c madvise_cold_or_pageout_pte_range(): split_folio())",
     "requires thp\n"
     "mmap 0 512 rw anon private\n"
     "madvise 0 512 hugepage\n"
     "write 0\n"
     "madvise 0 1 pageout\n"
     "pagemap 1 1\n",
     5, "P---", "P--X"},
    {kBehMigrationKeepsSoftDirty, "migration_keeps_soft_dirty",
     "a page mapped back from a migration entry (a THP's folio split, migration) gets exactly the entry's "
     "soft-dirty bit (mm/migrate.c remove_migration_pte(): pte_mksoft_dirty() else pte_clear_soft_dirty()); "
     "older kernels (6.1) only added it, after pte_mkdirty() of a dirty folio had set it on x86",
     "requires soft_dirty thp\n"
     "mmap 0 512 rw anon private\n"
     "madvise 0 512 hugepage\n"
     "write 0\n"
     "write 2\n"
     "clear_refs 4\n"
     "madvise 0 1 pageout\n"
     "pagemap 2 1\n",
     7, "P--X--", "P--X-D"},
    {kBehFileFoliosMayBeLarge, "file_folios_may_be_large",
     "the file slots' filesystem caches large folios without MADV_HUGEPAGE (ext4 since 6.16: "
     "mapping_set_large_folios(); readahead then allocates them, mm/readahead.c page_cache_ra_order()), and a "
     "fault maps every page of its folio (mm/memory.c finish_fault()): here the readahead of a write fault "
     "after reclaim leaves pages 4 and 5 in one folio, and the write to page 4 maps page 5 too; without large "
     "folios only the page written",
     "file 0 6\n"
     "mmap 0 6 rw file:0+0 shared\n"
     "write 0\n"
     "madvise 0 1 pageout\n"
     "fpunch 0 1 5\n"
     "write 0\n"
     "write 4\n"
     "pagemap 5 1\n",
     7, "P", "-"},
};

}  // namespace

std::span<const BehaviourProbe> BehaviourProbes() { return kProbes; }

const BehaviourProbe* BehaviourByName(const std::string& name) {
  for (const BehaviourProbe& p : kProbes)
    if (name == p.name) return &p;
  return nullptr;
}

}  // namespace mmdiff
