// Which answers of pagemap and PAGEMAP_SCAN must agree, read from
// fs/proc/task_mmu.c (6.12): pagemap builds an entry in
// pte_to_pagemap_entry() (4 KiB PTEs), pagemap_pmd_range() (a THP PMD),
// pagemap_hugetlb_range() (hugetlb) and pagemap_pte_hole() (no page table);
// PAGEMAP_SCAN builds categories in pagemap_page_category(),
// pagemap_thp_category(), pagemap_hugetlb_category() and
// pagemap_scan_pte_hole(), plus the VMA's in pagemap_scan_test_walk().
#include "model/consistency.h"

#include <algorithm>
#include <cinttypes>
#include <cstdio>

#include "prog/text.h"

namespace mmdiff {
namespace {

// A pagemap bit and the category that reads the same page-table state.
struct Pair {
  uint64_t bit;
  uint32_t cat;
};
constexpr Pair kPairs[] = {
    // pte_present()/pmd_present()/pte_present(huge pte) on both sides.
    {kPmPresent, kCatPresent},
    // is_swap_pte(), swap/migration entries and markers, on both sides (the
    // PMD: a migration entry); hugetlb is the exception below.
    {kPmSwap, kCatSwapped},
    // Both read the folio, not the VMA: !folio_test_anon() of
    // vm_normal_page() (PTE), of the pfn swap entry's folio (migration), of
    // the huge pte's page (hugetlb). So shmem and a file mapping's page cache
    // are file on both sides and a private file mapping's COW copy is file on
    // neither. The PMD differs: pagemap takes pmd_page(), which for the huge
    // zero PMD is the huge zero folio (not anon: PM_FILE), PAGE_IS_FILE takes
    // vm_normal_page_pmd(), which is NULL there: the known quirk
    // huge_zero_page_pagemap_file, compared, and so reported.
    {kPmFile, kCatFile},
    // VM_SOFTDIRTY (pagemap_pte_hole(), every entry; pagemap_scan_test_walk()
    // cur_vma_category) or the entry's soft-dirty bit on both sides; hugetlb
    // is the exception below.
    {kPmSoftDirty, kCatSoftDirty},
    // The guard marker (6.15+): PM_GUARD_REGION and PAGE_IS_GUARD.
    {kPmGuardRegion, kCatGuard},
};

struct Context {
  uint32_t known = 0;      // categories the scan returned (its return_mask)
  bool after_wp = false;   // the scan write-protected what it reported (wp_matching)
  bool soft_dirty = false; // the kernel has soft-dirty
  uint64_t zero_pfn = 0;
  QuirkSet quirks;
};

struct Mismatch {
  std::string field;
  bool pagemap = false;
  bool scan = false;
};

// Whether pagemap entry `word` and scan categories `cats` of one page agree.
std::optional<Mismatch> ComparePage(uint64_t word, uint32_t cats, const Context& c) {
  // A huge page may be hugetlb: pagemap_hugetlb_range() sets PM_SWAP for no
  // non-present entry (a uffd-wp marker there is PM_UFFD_WP only) and never
  // reads the huge pte's soft-dirty bit, where pagemap_hugetlb_category()
  // reports PAGE_IS_SWAPPED (is_swap_pte()) and PAGE_IS_SOFT_DIRTY
  // (pte_soft_dirty(), which pte_mkdirty() sets on x86). There, and where
  // the scan did not return PAGE_IS_HUGE, only pagemap 1 against scan 0 is
  // an inconsistency.
  bool maybe_hugetlb = (cats & kCatHuge) || !(c.known & kCatHuge);
  for (const Pair& p : kPairs) {
    if (!(c.known & p.cat)) continue;
    if (p.cat == kCatSoftDirty && !c.soft_dirty) continue;
    // Write-protecting a none entry installs a marker (make_uffd_wp_pte()).
    if (p.cat == kCatSwapped && c.after_wp) continue;
    bool pm = word & p.bit, sc = cats & p.cat;
    if (pm == sc) continue;
    if ((p.cat == kCatSwapped || p.cat == kCatSoftDirty) && sc && maybe_hugetlb) continue;
    return Mismatch{CategoryList(p.cat), pm, sc};
  }
  // uffd-wp against PAGE_IS_WRITTEN: for a present or non-present entry both
  // read the same bit (pte_uffd_wp()/pmd_uffd_wp()/huge_pte_uffd_wp();
  // pte_swp_uffd_wp_any() on the scan side is pte_swp_uffd_wp() or the
  // marker, which pagemap reads as pte_swp_uffd_wp() and
  // pte_marker_entry_uffd_wp()), whatever the VMA's registration. A none
  // entry is not compared: PM_UFFD_WP is 0 there, while whether
  // PAGE_IS_WRITTEN is reported for it is the scan's policy
  // (pagemap_scan_pte_hole(), pagemap_page_category()'s pte_none(), which
  // differ between kernels). Not after wp_matching, which just cleared
  // PAGE_IS_WRITTEN's meaning.
  bool populated = (word & (kPmPresent | kPmSwap)) || (cats & (kCatPresent | kCatSwapped));
  if ((c.known & kCatWritten) && !c.after_wp && populated) {
    bool pm = word & kPmUffdWp, sc = !(cats & kCatWritten);
    if (pm != sc) return Mismatch{"uffd_wp", pm, sc};
  }
  // The zero page: is_zero_pfn(pte_pfn()) against pagemap's PFN (shown to
  // CAP_SYS_ADMIN). The huge zero PMD is PAGE_IS_PFNZERO
  // (is_huge_zero_pmd()) with the huge zero folio's PFNs: not compared.
  if ((c.known & kCatPfnZero) && c.zero_pfn && (word & kPmPresent)) {
    bool pm = (word & kPmPfnBits) == c.zero_pfn, sc = cats & kCatPfnZero;
    if (pm != sc && !(sc && maybe_hugetlb)) return Mismatch{"pfnzero", pm, sc};
  }
  // PAGE_IS_HUGE has no pagemap bit; PM_MMAP_EXCLUSIVE no category.
  return std::nullopt;
}

// The known quirk a mismatch is, if any: bits of Quirk; kCannotTell where
// the kernel has a quirk that could explain it but the answers do not say
// whether it does (not compared).
constexpr uint32_t kCannotTell = ~0u;
uint32_t KnownQuirk(const Mismatch& m, uint32_t cats, const Context& c) {
  // huge_zero_page_pagemap_file: PM_FILE on the huge zero PMD, where
  // PAGE_IS_FILE is clear and the page is PAGE_IS_PFNZERO | PAGE_IS_HUGE.
  if (m.field == CategoryList(kCatFile) && m.pagemap && !m.scan && c.quirks.Has(Quirk::kHugeZeroPagePagemapFile)) {
    constexpr uint32_t kHugeZero = kCatPfnZero | kCatHuge;
    if ((c.known & kHugeZero) != kHugeZero) return kCannotTell;
    if ((cats & kHugeZero) == kHugeZero) return 1u << static_cast<int>(Quirk::kHugeZeroPagePagemapFile);
  }
  return 0;
}

std::string Quote(const Op& op) { return "\"" + PrintOp(op) + "\""; }

std::string RegionText(const ScanRegion& r) {
  return "[" + std::to_string(r.start) + "," + std::to_string(r.end) + "):" + CategoriesToLetters(r.categories);
}

std::string Hex(uint64_t v) {
  char buf[24];
  snprintf(buf, sizeof buf, "0x%016" PRIx64, v);
  return buf;
}

// Compares the pagemap words of pages [first, first + words.size()) with the
// scan's regions; `covered_only`: a page in no region is unknown (the scan
// had a filter), else it is outside every VMA (categories 0). Pages from
// `scan_end` on were not walked. The first mismatch a known quirk explains
// goes to `excused`; the first one none explains is returned.
std::optional<Inconsistency> ComparePagemapScan(size_t index, const Op& op, uint32_t first,
                                                const std::vector<uint64_t>& words,
                                                const std::vector<ScanRegion>& regions, uint64_t scan_end,
                                                bool covered_only, const Context& c,
                                                std::vector<Inconsistency>* excused) {
  bool excused_here = false;
  size_t k = 0;  // regions come in address order (pagemap_scan_push_range())
  for (size_t i = 0; i < words.size(); i++) {
    uint64_t page = first + i;
    if (page >= scan_end) break;
    while (k < regions.size() && regions[k].end <= page) k++;
    const ScanRegion* in = k < regions.size() && regions[k].start <= page ? &regions[k] : nullptr;
    if (!in && covered_only) continue;
    auto m = ComparePage(words[i], in ? in->categories : 0, c);
    if (!m) continue;
    uint32_t quirk = KnownQuirk(*m, in ? in->categories : 0, c);
    if (quirk == kCannotTell || (quirk && excused_here)) continue;
    Inconsistency out;
    out.quirk_bits = quirk;
    out.op_index = index;
    out.line = "DIVERGENCE inconsistent op=" + std::to_string(index) + " " + Quote(op) +
               " page=" + std::to_string(page) + " field=" + m->field + " pagemap=" + (m->pagemap ? "1" : "0") +
               " scan=" + (m->scan ? "1" : "0") + " (pagemap " + PagemapToken(words[i]) + " " + Hex(words[i]) +
               ", scan " + (in ? RegionText(*in) : "no region") + ")";
    // One root cause, one signature, whichever op saw it: the field, the
    // direction, the page as pagemap shows it and as the scan's zero-page and
    // huge categories say ('?' where the scan did not return them); not the
    // VMA's categories (wpallowed) nor written.
    constexpr uint32_t kKind = kCatPfnZero | kCatHuge;
    std::string kind = (c.known & kKind) != kKind ? "?" : in ? CategoriesToLetters(in->categories & kKind) : "none";
    out.signature = "inconsistent|" + m->field + "|pm" + (m->pagemap ? "1" : "0") + "scan" + (m->scan ? "1" : "0") +
                    "|" + PagemapToken(words[i]) + "|" + kind;
    if (!quirk) return out;
    excused->push_back(std::move(out));
    excused_here = true;
  }
  return std::nullopt;
}

// Appends `regs` clipped to [lo, hi) to `out`: overlaps with what is there
// (a stale walk_end makes a resumed scan report a range again) trimmed, and
// neighbours with equal categories merged, as one scan would report them.
void Append(const std::vector<ScanRegion>& regs, uint64_t lo, uint64_t hi, std::vector<ScanRegion>* out) {
  for (ScanRegion r : regs) {
    r.start = std::max(r.start, lo);
    r.end = std::min(r.end, hi);
    if (!out->empty()) r.start = std::max(r.start, out->back().end);
    if (r.start >= r.end) continue;
    if (!out->empty() && out->back().end == r.start && out->back().categories == r.categories)
      out->back().end = r.end;
    else
      out->push_back(r);
  }
}

std::string RegionsText(const std::vector<ScanRegion>& regs, size_t from) {
  std::string s;
  for (size_t k = from; k < regs.size() && k < from + 3; k++) s += (s.empty() ? "" : " ") + RegionText(regs[k]);
  if (regs.size() > from + 3) s += " ...";
  return s.empty() ? "none" : s;
}

// A scan split by max=/vec= and resumed at walk_end against the same scan
// unsplit: pagemap_scan_output() cuts a region at max_pages or when the vec
// is full and sets walk_end there, so the resumed walk must continue it
// (docs/CONTRACT.md §6.3).
std::optional<Inconsistency> CompareSplit(size_t index, const Op& op, const Result& r, Mutant mutant) {
  const CrossAnswer& c = r.cross;
  uint64_t hi = std::min(c.whole_end, c.resumed_end);
  std::vector<ScanRegion> split, whole;
  Append(r.regions, op.page, std::min(r.walk_end, hi), &split);
  if (mutant != Mutant::kSplitIgnoresResumed) Append(c.resumed, r.walk_end, hi, &split);
  Append(c.whole, op.page, hi, &whole);
  if (split == whole) return std::nullopt;
  size_t k = 0;
  while (k < split.size() && k < whole.size() && split[k] == whole[k]) k++;
  Inconsistency out;
  out.op_index = index;
  out.line = "DIVERGENCE inconsistent op=" + std::to_string(index) + " " + Quote(op) +
             " field=split up_to=" + std::to_string(hi) + " split=\"" + RegionsText(split, k) + "\" unsplit=\"" +
             RegionsText(whole, k) + "\" (region " + std::to_string(k) + ")";
  out.signature = std::string("inconsistent|scan|split|") + (op.scan_max ? "max" : "vec") +
                  (split.size() < whole.size() ? "|fewer" : split.size() > whole.size() ? "|more" : "|differ");
  return out;
}

// The categories of `page` in `regs` (address order, from index *k on, which
// advances); false when no region holds it.
bool CategoriesAt(const std::vector<ScanRegion>& regs, uint64_t page, size_t* k, uint32_t* cats) {
  while (*k < regs.size() && regs[*k].end <= page) (*k)++;
  if (*k >= regs.size() || regs[*k].start > page) return false;
  *cats = regs[*k].categories;
  return true;
}

// PAGE_IS_HUGE against smaps, per VMA the unfiltered scan `regs` walked
// entirely ([lo, hi)): its pages reported huge, present and not the huge
// zero page are the ones a PMD or a hugetlb pte maps, which is what smaps
// counts (executor/smaps.cc says why, from fs/proc/task_mmu.c). *compared:
// whether some VMA was.
std::optional<Inconsistency> CompareHuge(size_t index, const Op& op, const std::vector<ScanRegion>& regs,
                                         uint64_t lo, uint64_t hi, const std::vector<SmapsHuge>& vmas,
                                         bool* compared, Mutant mutant) {
  uint32_t kMapped = kCatHuge | kCatPresent | (mutant == Mutant::kHugeCountsZeroPage ? 0 : kCatPfnZero);
  for (const SmapsHuge& v : vmas) {
    if (v.start < lo || v.end > hi) continue;
    *compared = true;
    uint64_t scan = 0;
    for (const ScanRegion& r : regs) {
      uint64_t a = std::max(r.start, v.start), b = std::min(r.end, v.end);
      if (a < b && (r.categories & kMapped) == (kCatHuge | kCatPresent)) scan += b - a;
    }
    if (scan == v.huge_pages) continue;
    Inconsistency out;
    out.op_index = index;
    out.line = "DIVERGENCE inconsistent op=" + std::to_string(index) + " " + Quote(op) + " vma=[" +
               std::to_string(v.start) + "," + std::to_string(v.end) + ") field=huge scan=" + std::to_string(scan) +
               " smaps=" + std::to_string(v.huge_pages) +
               " (pages PAGE_IS_HUGE|PAGE_IS_PRESENT, not pfnzero; smaps AnonHugePages+ShmemPmdMapped+"
               "FilePmdMapped+Shared_Hugetlb+Private_Hugetlb / 4 KiB; scan " +
               RegionsText(regs, 0) + ")";
    out.signature = std::string("inconsistent|huge|") + (scan > v.huge_pages ? "scan-more" : "scan-fewer") +
                    (v.huge_pages == 0 ? "|smaps0" : scan == 0 ? "|scan0" : "");
    return out;
  }
  return std::nullopt;
}

// Whether pagemap_scan_is_interesting_page() (fs/proc/task_mmu.c) keeps a
// page of categories `cats` for the op's req=, inv= and any=.
bool Interesting(uint32_t cats, const Op& op, Mutant mutant) {
  if (mutant != Mutant::kMaskIgnoresInverted) cats ^= op.scan_inv;
  if ((cats & op.scan_req) != op.scan_req) return false;
  return !op.scan_any || (cats & op.scan_any);
}

// A filtered scan against the same range unfiltered, page by page up to
// where both walked: a page is reported exactly when its unfiltered
// categories pass the filter (pagemap_scan_is_interesting_page(), applied to
// the same categories the unfiltered walk computes: pagemap_page_category()
// and its THP, hugetlb and hole variants, plus pagemap_scan_test_walk()'s
// VMA categories), with those categories masked by ret=
// (pagemap_scan_output() stores categories & return_mask). A page no
// unfiltered region holds is outside every walked VMA: never reported.
// Region boundaries are not compared, only what each page gets.
std::optional<Inconsistency> CompareMask(size_t index, const Op& op, const Result& r, Mutant mutant) {
  const CrossAnswer& c = r.cross;
  uint64_t hi = std::min({r.walk_end, c.unfiltered_end, uint64_t{op.page} + op.npages});
  size_t ko = 0, ku = 0;
  for (uint64_t page = op.page; page < hi; page++) {
    uint32_t own = 0, all = 0;
    bool reported = CategoriesAt(r.regions, page, &ko, &own);
    bool walked = CategoriesAt(c.unfiltered, page, &ku, &all);
    bool want = walked && Interesting(all, op, mutant);
    const char* field = nullptr;
    if (want != reported) field = "mask";
    else if (reported && own != (all & c.scan_ret)) field = "ret";
    if (!field) continue;
    std::string filter;
    if (op.scan_req) filter += ",req";
    if (op.scan_inv) filter += ",inv";
    if (op.scan_any) filter += ",any";
    if (op.flags & kFlagHasRet) filter += ",ret";
    Inconsistency out;
    out.op_index = index;
    out.line = "DIVERGENCE inconsistent op=" + std::to_string(index) + " " + Quote(op) + " page=" +
               std::to_string(page) + " field=" + field + " filtered=" +
               (reported ? CategoriesToLetters(own) : std::string("unreported")) + " unfiltered=" +
               (walked ? CategoriesToLetters(all) : std::string("no region")) + " (unfiltered up to " +
               std::to_string(c.unfiltered_end) + ": " + RegionsText(c.unfiltered, 0) + ")";
    out.signature = std::string("inconsistent|") + field + "|" +
                    (field[0] == 'r' ? "categories" : reported ? "reported" : "missing") + "|" +
                    (filter.empty() ? "none" : filter.substr(1));
    return out;
  }
  return std::nullopt;
}

}  // namespace

std::optional<Inconsistency> CheckConsistency(const Program& prog, const Trace& trace, uint32_t features,
                                              QuirkSet quirks, ConsistencyTally* tally,
                                              std::vector<Inconsistency>* excused, Mutant mutant) {
  for (size_t i = 0; i < prog.ops.size() && i < trace.results.size(); i++) {
    const Op& op = prog.ops[i];
    const Result& r = trace.results[i];
    bool pagemap = op.kind == OpKind::kPagemap && r.kind == ResultKind::kPagemap && !r.pagemap.empty();
    bool scan = op.kind == OpKind::kScan && r.kind == ResultKind::kValue && r.is_scan;
    if (!pagemap && !scan) continue;
    const CrossAnswer& cross = r.cross;
    if (cross.kind != CrossAnswer::kAnswered) {
      tally->skipped++;
      continue;
    }
    Context c;
    c.known = cross.scan_ret;
    c.soft_dirty = features & kFeatSoftDirty;
    c.zero_pfn = trace.zero_pfn;
    c.quirks = quirks;
    std::optional<Inconsistency> found;
    tally->checks++;
    // The op's unfiltered answer, if any, for the huge comparison.
    const std::vector<ScanRegion>* all = nullptr;
    uint64_t all_end = 0;
    if (pagemap) {
      found = ComparePagemapScan(i, op, op.page, r.pagemap, cross.regions, cross.walk_end, false, c, excused);
      all = &cross.regions, all_end = cross.walk_end;
    } else {
      c.after_wp = op.flags & kFlagWpMatching;
      found = ComparePagemapScan(i, op, op.page, cross.pagemap, r.regions, r.walk_end, true, c, excused);
      bool no_vec = (op.flags & kFlagHasVec) && op.scan_vec == 0;
      bool split = op.scan_max != 0 || ((op.flags & kFlagHasVec) && op.scan_vec < op.npages);
      if (cross.resplit) {
        tally->checks++;
        tally->split++;
        if (!found) found = CompareSplit(i, op, r, mutant);
      } else if (split && !no_vec) {
        // wp_matching (a second scan would see its write protection), or
        // the unsplit scan or a resumed one failed (check_wpasync: EPERM
        // from a VMA beyond where the first call stopped).
        tally->skipped++;
      }
      bool filtered = op.scan_req || op.scan_inv || op.scan_any || (op.flags & kFlagHasRet);
      bool wp = op.flags & kFlagWpMatching;
      if (cross.has_unfiltered) {
        tally->checks++;
        tally->mask++;
        if (!found) found = CompareMask(i, op, r, mutant);
        all = &cross.unfiltered, all_end = std::min(cross.unfiltered_end, r.walk_end);
      } else if (cross.has_smaps) {
        all = &r.regions, all_end = r.walk_end;  // the op itself was unfiltered
      } else if (filtered && !wp && !no_vec && r.walk_end > op.page) {
        tally->skipped++;  // the unfiltered scan failed
      }
    }
    if (all && cross.has_smaps) {
      bool compared = false;
      auto huge = CompareHuge(i, op, *all, op.page, std::min(all_end, uint64_t{op.page} + op.npages), cross.smaps,
                              &compared, mutant);
      if (compared) tally->checks++, tally->huge++;
      if (!found) found = huge;
    }
    if (found) return found;
  }
  return std::nullopt;
}

}  // namespace mmdiff
