#include "fuzz/repro_consistency.h"

#include <regex>
#include <utility>
#include <vector>

#include "fuzz/repro_clib.h"
#include "fuzz/repro_fmt.h"
#include "fuzz/repro_uapi.h"
#include "prog/op_table.h"
#include "prog/text.h"

namespace mmdiff::repro_detail {
namespace {

// A page of pagemap against a category of the scan: the bit, the category,
// and whether the category is the bit's inverse (PAGE_IS_WRITTEN is a PTE
// without uffd-wp). model/consistency.cc kPairs.
struct FieldPair {
  const char* field;
  int bit;
  uint32_t cat;
  bool inverse;
};
constexpr FieldPair kFields[] = {
    {"present", 63, kCatPresent, false}, {"swapped", 62, kCatSwapped, false},
    {"file", 61, kCatFile, false},       {"soft_dirty", 55, kCatSoftDirty, false},
    {"uffd_wp", 57, kCatWritten, true},
};

const FieldPair* FieldOf(const std::string& field) {
  for (const FieldPair& f : kFields)
    if (field == f.field) return &f;
  return nullptr;
}

uint32_t VecLen(const Op& op) { return ScanVecLen(op) ? ScanVecLen(op) : 1; }

}  // namespace

bool ParseConsistency(const std::string& line, ConsistencyCheck* out) {
  std::smatch m;
  if (!std::regex_search(line, m, std::regex(" field=([a-z_]+)"))) return false;
  out->field = m[1] == "ret" ? "mask" : std::string(m[1]);
  if (std::regex_search(line, m, std::regex(" page=([0-9]+)"))) out->page = std::stoul(m[1]);
  if (std::regex_search(line, m, std::regex(" vma=\\[([0-9]+),([0-9]+)\\)")))
    out->vma_start = std::stoul(m[1]), out->vma_end = std::stoul(m[2]);
  if (out->field == "huge") return out->vma_end > out->vma_start;
  return out->field == "mask" || out->field == "split" || FieldOf(out->field);
}

std::string CConsistencyHelpers(const Op& op, const ConsistencyCheck& c, const std::string& all,
                                std::set<std::string>* uses) {
  // A huge check scans once: in its block, and needs no helper.
  if (c.field == "huge")
    return "/* smaps' PMD- and hugetlb-mapped pages of the VMA at page lo (fs/proc/task_mmu.c smaps_pmd_entry()) */\n"
           "static long smaps_huge(long lo)\n{\n"
           "\tconst char *f[] = {\"AnonHugePages:\", \"ShmemPmdMapped:\", \"FilePmdMapped:\", \"Shared_Hugetlb:\", "
           "\"Private_Hugetlb:\"};\n"
           "\tchar line[256];\n\tunsigned long a, kb = 0, v, in = 0;\n"
           "\tFILE *s = fopen(\"/proc/self/smaps\", \"r\");\n\n"
           "\twhile (s && fgets(line, sizeof line, s))\n"
           "\t\tfor (int k = (sscanf(line, \"%lx-%*x \", &a) == 1 ? in = a == (unsigned long)ADDR(lo) : 0); in && k < 5; k++)\n"
           "\t\t\tkb += !strncmp(line, f[k], strlen(f[k])) && sscanf(line + strlen(f[k]), \"%lu\", &v) == 1 ? v : 0;\n"
           "\treturn s && !fclose(s) ? kb / 4 : -1;\n}\n";
  // The executor's second looks ask only check_wpasync of the step's flags
  // (executor/ops.cc CrossUnfiltered, CrossPagemap); the step's own scan
  // asks its wp_matching too, which no check but a field's follows.
  Op flags_only = op;
  flags_only.flags &= ~uint32_t{kFlagWpMatching};
  std::string flags = op.kind == OpKind::kScan ? ScanFlagsC(c.field == "mask" || c.field == "split" ? flags_only : op,
                                                            " | ", uses)
                                               : "0";
  std::string ret = op.kind == OpKind::kScan && (op.flags & kFlagHasRet) ? CategoriesC(op.scan_ret, " | ", uses) : all;
  // Only the arguments its scans set.
  std::vector<std::string> set = {".vec = (unsigned long)v", ".vec_len = len", ".max_pages = max",
                                  ".return_mask = filtered ? " + ret + " : " + all};
  if (flags != "0") set.push_back(".flags = " + flags);
  if (op.kind == OpKind::kScan)
    for (auto [name, mask] : {std::pair{".category_mask", op.scan_req}, std::pair{".category_inverted", op.scan_inv},
                              std::pair{".category_anyof_mask", op.scan_any}})
      if (mask) set.push_back(std::string(name) + " = filtered ? " + CategoriesC(mask, " | ", uses) + " : 0");
  std::string fields = ".size = sizeof arg, .start = (unsigned long)ADDR(from), .end = (unsigned long)ADDR(to)" +
                       CWrappedFields(set, 130);
  std::string params = "long from, long to, int filtered, long max, struct page_region *v, long len, long *end";
  std::string h =
      "/* PAGEMAP_SCAN of pages [from, to) into v[len] (Documentation/admin-guide/mm/pagemap.rst), with the step's "
      "filters or none: the region count; *end: walk_end */\n"
      "static long pm_scan(" + params + ")\n{\n"
      "\tstruct pm_scan_arg arg = {" + fields + "};\n\tlong r = ioctl(pm, PAGEMAP_SCAN, &arg);\n\n"
      "\t*end = (arg.walk_end - (unsigned long)ADDR(0)) / PAGE;\n\treturn r;\n}\n\n";
  return h + "/* The categories of page p in v[0, n): -1 where no region holds it */\n"
             "static long cats_at(const struct page_region *v, long n, long p)\n{\n"
             "\tfor (long k = 0; k < n; k++)\n"
             "\t\tif (ADDR(p) >= (char *)v[k].start && ADDR(p) < (char *)v[k].end)\n"
             "\t\t\treturn v[k].categories;\n\treturn -1;\n}\n";
}

std::string CConsistencyStep(size_t index, const Op& op, const ConsistencyCheck& c, Mutant mutant,
                             const std::string& all, std::set<std::string>* uses) {
  bool scan = op.kind == OpKind::kScan;
  uint32_t len = scan ? VecLen(op) : op.npages, n = op.npages, lo = op.page, hi = op.page + op.npages;
  std::string at = "\tstep = " + std::to_string(index) + "; { /* " + PrintOp(op) + ": ";
  auto fail = [](const std::string& fmt, const std::string& args) {
    return "printf(\"FAIL: step %d: " + fmt + "\\n\", step, " + args + "), exit(1);\n";
  };
  if (c.field == "mask") {
    // Each page reported exactly when its unfiltered categories pass the
    // filter, with them masked by ret= (model/consistency.cc CompareMask).
    bool broken = mutant == Mutant::kMaskIgnoresInverted;
    std::string req = CategoriesC(op.scan_req, " | ", uses), inv = CategoriesC(op.scan_inv, " | ", uses),
                any = CategoriesC(op.scan_any, " | ", uses);
    std::string ret = op.flags & kFlagHasRet ? CategoriesC(op.scan_ret, " | ", uses) : "";
    return at + "a page is reported when its unfiltered categories pass the filter\n"
                "\t\t   (fs/proc/task_mmu.c pagemap_scan_is_interesting_page) */\n" +
           Fmt("\t\tstatic struct page_region own[%u], all[%u];\n", len, n) +
           Fmt("\t\tlong e, ue, r = pm_scan(%u, %u, 1, %u, own, %u, &e), u = pm_scan(%u, e, 0, 0, all, %u, &ue);\n\n", lo,
               hi, op.scan_max, len, lo, n) +
           Fmt("\t\tfor (long p = %u; r >= 0 && u >= 0 && p < e && p < ue; p++) {\n", lo) +
           "\t\t\tlong c = cats_at(all, u, p), got = cats_at(own, r, p), x = " +
           (broken ? "c; /* the oracle broken on purpose: inv= ignored */\n" : "c ^ (" + inv + ");\n") +
           "\t\t\tint want = c >= 0 && (x & (" + req + ")) == (" + req + ") && " +
           (op.scan_any ? "(x & (" + any + "))" : "1") + ";\n" +
           "\t\t\tif (want != (got >= 0) || (got >= 0 && got != " + (ret.empty() ? "c" : "(c & (" + ret + "))") +
           "))\n\t\t\t\t" + fail("page %ld is %s (categories %#lx), unfiltered %#lx", "p, got >= 0 ? \"reported\" : "
                                 "\"left out\", got, c") +
           "\t\t}\n\t}\n";
  }
  if (c.field == "huge") {
    // Pages PAGE_IS_HUGE and present, not the huge zero page (a PMD smaps
    // does not count), against smaps (CompareHuge).
    uint32_t mapped = kCatHuge | kCatPresent | (mutant == Mutant::kHugeCountsZeroPage ? 0u : uint32_t{kCatPfnZero});
    uint32_t pages = c.vma_end - c.vma_start;
    return at + "pages PAGE_IS_HUGE and present" +
           (mutant == Mutant::kHugeCountsZeroPage ? " (the oracle broken on purpose: the huge zero page too)"
                                                  : ", not the huge zero page,") +
           " are what smaps counts */\n" + Fmt("\t\tstatic struct page_region all[%u];\n", pages) +
           Fmt("\t\tlong huge = 0, r = ioctl(pm, PAGEMAP_SCAN, &(struct pm_scan_arg){.size = sizeof(struct pm_scan_arg), "
               ".start = (unsigned long)ADDR(%u),\n\t\t\t.end = (unsigned long)ADDR(%u), .vec = (unsigned long)all, "
               ".vec_len = %u, .return_mask = ",
               c.vma_start, c.vma_end, pages) +
           all + "});\n" +
           "\t\tfor (long k = 0; k < r; k++)\n\t\t\thuge += (all[k].categories & (" + CategoriesC(mapped, " | ", uses) +
           ")) == (" + CategoriesC(kCatHuge | kCatPresent, " | ", uses) + ") ? (all[k].end - all[k].start) / PAGE : 0;\n" +
           Fmt("\t\tif (huge != smaps_huge(%u))\n\t\t\t", c.vma_start) +
           fail(Fmt("pages [%u,%u): PAGEMAP_SCAN says %%ld huge, smaps %%ld", c.vma_start, c.vma_end),
                Fmt("huge, smaps_huge(%u)", c.vma_start)) +
           "\t}\n";
  }
  if (c.field == "split") {
    // The scan cut by max=/vec=, resumed at its walk_end until the end, page
    // by page against one unsplit scan (CompareSplit).
    bool broken = mutant == Mutant::kSplitIgnoresResumed;
    return at + "cut by max= or vec= and resumed at walk_end, as unsplit\n"
                "\t\t   (fs/proc/task_mmu.c pagemap_scan_output) */\n" +
           Fmt("\t\tstatic struct page_region own[%u], rest[%u], whole[%u];\n", len, n + len, n) +
           Fmt("\t\tlong e, we, at, k, next, r = pm_scan(%u, %u, 1, %u, own, %u, &e), w = pm_scan(%u, %u, 1, 0, whole, %u, "
               "&we), m = 0;\n\n",
               lo, hi, op.scan_max, len, lo, hi, n) +
           Fmt("\t\tfor (at = e; at < %u && m + %u <= %u && (k = pm_scan(at, %u, 1, %u, rest + m, %u, &next)) >= 0 && "
               "next > at; at = next)\n\t\t\tm += k;\n",
               hi, len, n + len, hi, op.scan_max, len) +
           Fmt("\t\tfor (long p = %u, c; r >= 0 && w >= 0 && p < at && p < we; p++)\n", lo) +
           "\t\t\tif ((c = p < e ? cats_at(own, r, p) : " +
           (broken ? "-1 /* the oracle broken on purpose: no resumed walk */" : "cats_at(rest, m, p)") +
           ") != cats_at(whole, w, p))\n\t\t\t\t" +
           fail("page %ld is %ld split, %ld unsplit (categories; -1: in no region)", "p, c, cats_at(whole, w, p)") +
           "\t}\n";
  }
  // One page's pagemap bit against the scan's category: the step's own
  // scan then pagemap, or pagemap then a scan (ComparePagemapScan).
  const FieldPair* f = FieldOf(c.field);
  std::string cat = CategoriesC(f->cat, " | ", uses);
  std::string pm = Fmt("pagemap(ADDR(%u)) >> %d & 1", c.page, f->bit);
  std::string sc = std::string(f->inverse ? "!" : "!!") + "(c >= 0 && (c & " + cat + "))";
  return at + "pagemap's bit " + std::to_string(f->bit) + " and " + cat + " read the same PTE */\n" +
         Fmt("\t\tstatic struct page_region v[%u];\n", len) + "\t\tlong e, w = " + (scan ? "0" : pm) +
         Fmt(", r = pm_scan(%u, %u, %d, %u, v, %u, &e), c = cats_at(v, r, %u);\n\n", lo, hi, scan ? 1 : 0,
             scan ? op.scan_max : 0, len, c.page) +
         (scan ? "\t\tw = " + pm + ";\n" : "") + "\t\tif (w != " + sc + ")\n\t\t\t" +
         fail(Fmt("page %u: pagemap bit %d is %%ld, %s %%d", c.page, f->bit, cat.c_str()), "w, " + sc) + "\t}\n";
}

}  // namespace mmdiff::repro_detail
