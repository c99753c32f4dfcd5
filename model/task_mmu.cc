// fs/proc/task_mmu.c: the observations (/proc/PID/pagemap entries and the
// PAGEMAP_SCAN ioctl, docs/CONTRACT.md §3.3 and §6) and clear_refs, which
// resets what they show.
#include <algorithm>
#include <cerrno>
#include <optional>

#include "model/model.h"
#include "model/result_make.h"

namespace mmdiff {

uint64_t Model::PagemapEntry(const Process& p, uint32_t page) const {
  return PagemapEntryOf(p, page, Primary(p, page));
}

Result Model::DoPagemap(Step& s) {
  const Op& op = s.op;
  Process& p = st_.procs[op.proc];
  Result r;
  r.kind = ResultKind::kPagemap;
  r.pagemap.resize(op.npages);
  // The kernel's answer, read only where the model allows a choice (a
  // latitude): a pagemap without latitude chooses nothing.
  auto answer = [&s, &op]() -> const Result* {
    const Result* o = s.Observed();
    return o && o->kind == ResultKind::kPagemap && o->pagemap.size() == op.npages ? o : nullptr;
  };
  std::vector<uint32_t> discarded;
  std::vector<std::pair<uint32_t, bool>> resolved;  // page, to the alternative
  std::vector<std::pair<int, bool>> vma_sd;         // VMA index, observed soft-dirty
  // Large folios other processes map (some subpage of): their subpages'
  // "exclusive" bit depends on the kernel's mapcount granularity. Gathered
  // at the first page of a large folio the op reads.
  std::optional<std::vector<uint32_t>> shared_folios;
  auto shared_folio = [&](uint32_t folio) {
    if (!shared_folios) {
      shared_folios.emplace();
      for (size_t q = 0; q < st_.procs.size(); q++) {
        if (static_cast<int>(q) == op.proc || !st_.procs[q].alive) continue;
        for (auto& [qp, qpte] : st_.procs[q].ptes)
          if (qpte.kind == PteKind::kPresent && qpte.page != kZeroPage && st_.pages[qpte.page].folio)
            shared_folios->push_back(st_.pages[qpte.page].folio);
      }
      std::sort(shared_folios->begin(), shared_folios->end());
    }
    return std::binary_search(shared_folios->begin(), shared_folios->end(), folio);
  };
  for (uint32_t i = 0; i < op.npages; i++) {
    uint32_t page = op.page + i;
    r.pagemap[i] = PagemapEntry(p, page);
    const Pte* pte = p.ptes.Find(page);
    int vi = st_.VmaAt(p, page);
    if (pte && pte->kind == PteKind::kPresent && pte->page != kZeroPage && st_.pages[pte->page].lazyfree) {
      // A lazyfree page may have been discarded by reclaim: it then reads as
      // a none PTE (the VMA's soft-dirty only).
      uint64_t gone = p.vmas[vi].soft_dirty && profile_.soft_dirty ? kPmSoftDirty : 0;
      uint64_t bits = (r.pagemap[i] ^ gone) & kPmShownBits;
      s.pred->latitudes.push_back({i, bits, Grant::Of(Allowance::kLazyfreeMayBeDiscarded)});
      if (const Result* obs = answer(); obs && !(obs->pagemap[i] & kPmPresent)) discarded.push_back(page);
    }
    if (const Doubt* d = p.doubts.Find(page)) {
      // The alternative PTE: its entry differs in some bits (EXCLUSIVE aside).
      uint64_t alt = PagemapEntryOf(p, page, AlternativeAt(p, page));
      uint64_t bits = (r.pagemap[i] ^ alt) & kPmShownBits;
      if (bits) s.pred->latitudes.push_back({i, bits, d->why});
      if (const Result* obs = answer()) {
        uint64_t cmp = kPmShownBits & ~kPmMmapExclusive;
        bool is_prim = !((obs->pagemap[i] ^ r.pagemap[i]) & cmp);
        bool is_alt = !((obs->pagemap[i] ^ alt) & cmp);
        if (is_prim != is_alt) resolved.push_back({page, is_alt});
      }
    }
    if (pte && pte->kind == PteKind::kPresent && pte->page != kZeroPage) {
      // EXCLUSIVE depends on other mappings of the page that are doubtful.
      const PageObj& pg = st_.pages[pte->page];
      // DoubtfulMaps() counts this PTE too when its own doubt may unmap it
      // (an alternative that is not this page's mapping).
      uint32_t doubtful = DoubtfulMaps(pte->page);
      const Doubt* self = p.doubts.Find(page);
      uint32_t self_counted = self && (self->alt_none || self->alt.kind != PteKind::kPresent) ? 1 : 0;
      uint32_t sure = pg.mapcount - doubtful + self_counted;
      if (doubtful > self_counted && sure <= 1) {
        Grant why = Grant::Of(Allowance::kFaultAroundMayMap);
        for (const Process& q : st_.procs)
          for (auto& [qp, qd] : q.doubts) {
            const Pte* qpte = q.ptes.Find(qp);
            if (qpte && qpte->kind == PteKind::kPresent && qpte->page == pte->page) why = qd.why;
          }
        s.pred->latitudes.push_back({i, kPmMmapExclusive, why});
      }
    }
    if (pte && pte->kind == PteKind::kPresent && pte->page != kZeroPage && st_.pages[pte->page].folio &&
        shared_folio(st_.pages[pte->page].folio)) {
      // The contract's per-subpage answer against the per-folio one (mapped
      // by another process: not exclusive) and 6.1's head-page one for a PMD.
      bool per_page = st_.pages[pte->page].mapcount == 1;
      bool per_head = per_page;
      uint32_t s0 = MmState::Slot(page) * kPagesPerPmd;
      if (p.thp.Find(MmState::Slot(page))) per_head = st_.pages[p.ptes.Find(s0)->page].mapcount == 1;
      if (per_page || per_head)
        s.pred->latitudes.push_back({i, kPmMmapExclusive, Grant::Of(Allowance::kLargeFolioExclusive)});
    }
    if (pte && pte->kind == PteKind::kPresent && pte->page == kZeroPage && p.huge_zero.Find(MmState::Slot(page)) &&
        profile_.quirks.Has(Quirk::kHugeZeroPagePagemapFile)) {
      // pagemap_pmd_range() takes the huge zero page for a file page (bit 61).
      s.pred->latitudes.push_back({i, kPmFile, Grant::Of(Quirk::kHugeZeroPagePagemapFile)});
    }
    if (vi >= 0 && p.vmas[vi].sd_lost_quirk && profile_.soft_dirty && !(pte && pte->soft_dirty)) {
      // The VMA's VM_SOFTDIRTY may have been lost in a merge (quirk).
      Quirk q = static_cast<Quirk>(p.vmas[vi].sd_lost_quirk - 1);
      s.pred->latitudes.push_back({i, kPmSoftDirty, Grant::Of(q)});
      if (const Result* obs = answer()) vma_sd.push_back({vi, (obs->pagemap[i] & kPmSoftDirty) != 0});
    }
  }
  for (uint32_t page : discarded) st_.ClearPte(p, page);
  for (auto& [page, to_alt] : resolved) ResolveDoubt(op.proc, page, to_alt);
  for (auto& [vi, sd] : vma_sd) {
    p.vmas[vi].soft_dirty = sd;
    p.vmas[vi].sd_lost_quirk = 0;
  }
  return r;
}

// --- PAGEMAP_SCAN -------------------------------------------------------------

namespace {

// Kernel-like addresses so that 0 stays the "empty entry" sentinel of the
// bounce buffer.
constexpr uint64_t kBias = kArenaBase / kPageSize;

struct Entry {
  uint64_t start = 0, end = 0;
  uint32_t cats = 0;
};

}  // namespace

struct ScanSim {
  // Arguments.
  uint32_t req = 0, inv = 0, any = 0, ret = 0;
  uint64_t max_pages = 0;
  uint64_t vec_len = 0;
  bool wp_matching = false, check_wpasync = false;
  bool has_buf = false;
  // Bounce buffer and counters (struct pagemap_scan_private).
  std::vector<Entry> buf;
  size_t idx = 0, buf_len = 0;
  uint64_t found = 0, walk_end = 0;
  std::vector<ScanRegion> out;
  // Pages WP_MATCHING write-protects.
  std::vector<uint32_t> protect;
  // THP slots WP_MATCHING splits (pagemap_scan_thp_entry()), before it
  // protects pages in them.
  std::vector<uint32_t> split;
  bool Split(uint32_t slot) const { return std::find(split.begin(), split.end(), slot) != split.end(); }

  bool Interesting(uint32_t cats) const {
    uint32_t c = cats ^ inv;
    return (c & req) == req && (any == 0 || (c & any) != 0);
  }
  bool Push(uint32_t cats, uint64_t a, uint64_t e) {  // pagemap_scan_push_range()
    Entry* cur = &buf[idx];
    if (a == cur->end && cats == cur->cats) {
      cur->end = e;
      return true;
    }
    if (cur->end) {
      if (idx + 1 >= buf_len) return false;
      cur = &buf[++idx];
    }
    *cur = Entry{a, e, cats};
    return true;
  }
  // pagemap_scan_output() for one page; returns ENOSPC or 0 and whether the
  // page was counted.
  int Output(uint32_t cats, uint64_t a, bool* counted) {
    *counted = true;
    if (!has_buf) return 0;
    cats &= ret;
    uint64_t e = a + 1, n = 1;
    int r = 0;
    if (found + 1 > max_pages) {
      e = a;
      n = 0;
      r = ENOSPC;
    }
    if (!Push(cats, a, e)) {
      e = a;
      n = 0;
      r = ENOSPC;
    }
    found += n;
    if (r) walk_end = e;
    *counted = n == 1;
    return r;
  }
  // pagemap_scan_output() of a huge entry's pages [a, e) at once (a PMD or a
  // huge PTE): the end the buffer and max_pages let it reach; *r ENOSPC or 0.
  uint64_t OutputRange(uint32_t cats, uint64_t a, uint64_t e, int* r) {
    uint64_t end = a;
    *r = 0;
    for (bool counted = true; end < e; end++) {
      *r = Output(cats, end, &counted);
      if (!counted) break;
    }
    return end;
  }
  // pagemap_scan_backout_range(): the output of [a, end) taken back, when the
  // huge entry is split (THP) or left alone (a partial hugetlb WP).
  void Backout(uint64_t a, uint64_t end) {
    if (!has_buf) return;
    Entry& cur = buf[idx];
    if (cur.start != a) cur.end = a;
    else cur = Entry{};
    found -= end - a;
  }
  uint64_t Flush() {  // pagemap_scan_flush_buffer()
    if (!has_buf) return 0;
    uint64_t n = idx;
    if (buf[n].end != buf[n].start) n++;
    if (!n) return 0;
    for (uint64_t k = 0; k < n; k++)
      out.push_back({buf[k].start - kBias, buf[k].end - kBias, buf[k].cats});
    vec_len -= n;
    idx = 0;
    buf_len = std::min<uint64_t>(buf_len, vec_len);
    buf[0] = Entry{};
    return n;
  }
};

namespace {

uint32_t PageCategories(const Pte* pte, bool has_pt, bool huge_zero, const Vma& v, const MmState& st,
                        const KernelProfile& prof) {
  if (huge_zero) {
    // pagemap_thp_category() of the huge zero PMD: HUGE, PRESENT, PFNZERO,
    // WRITTEN unless uffd-wp; no FILE (vm_normal_page_pmd() is NULL).
    uint32_t c = kCatHuge | kCatPresent | kCatPfnZero;
    if (!pte->uffd_wp) c |= kCatWritten;
    return c;
  }
  if (!pte) {
    // none PTE: WRITTEN (July-2026 fix, the contract); page-table hole:
    // WRITTEN only in uffd-wp VMAs (§6.2, §6.5).
    if (has_pt) return kCatWritten;
    return v.UffdWp() ? uint32_t{kCatWritten} : 0u;
  }
  uint32_t c = 0;
  switch (pte->kind) {
    case PteKind::kPresent:
      c |= kCatPresent;
      if (!pte->uffd_wp) c |= kCatWritten;
      if (pte->page == kZeroPage) c |= kCatPfnZero;
      else if (!st.pages[pte->page].anon) c |= kCatFile;
      break;
    case PteKind::kSwap:
      c |= kCatSwapped;
      if (!pte->uffd_wp) c |= kCatWritten;
      break;
    case PteKind::kUffdMarker:
      c |= kCatSwapped;  // uffd-wp marker: not written
      break;
    case PteKind::kGuard:
      c |= kCatSwapped;
      if (!pte->uffd_wp) c |= kCatWritten;
      if (prof.scan_categories & kCatGuard) c |= kCatGuard;
      break;
  }
  if (pte->soft_dirty && prof.soft_dirty) c |= kCatSoftDirty;
  return c;
}

bool AlreadyWp(const Pte* pte) {
  return pte && (pte->uffd_wp || pte->kind == PteKind::kUffdMarker);
}

}  // namespace

// walk_hugetlb_range() over [lo, hi) of one hugetlb VMA, one huge page at a
// time: pagemap_scan_hugetlb_entry() where the huge PTE's table exists
// (`has_pt`), else pagemap_scan_pte_hole(). Returns 0, ENOSPC.
template <class HasPt>
static int ScanHugetlbVma(const Model& m, const Process& p, uint32_t lo, uint32_t hi,
                          uint32_t vma_cat, const HasPt& has_pt, ScanSim& S) {
  for (uint32_t a = lo; a < hi;) {
    uint32_t s0 = a / kPagesPerPmd * kPagesPerPmd, e = std::min(hi, s0 + kPagesPerPmd);
    const Pte* pte = p.ptes.Find(s0);
    bool entry = pte || has_pt(s0) || m.HugetlbSlotTable(p, s0) == PtState::kPresent;
    // The hole: cur_vma_category only (hugetlb: no WRITTEN for a uffd-wp
    // VMA); the entry: pagemap_hugetlb_category() too.
    uint32_t cats = vma_cat | (entry ? m.HugetlbCategories(pte) : 0u);
    if (!S.Interesting(cats)) {
      a = e;
      continue;
    }
    // pagemap_scan_output() of [a, e) at once: the part max_pages and the
    // buffer take.
    int r = 0;
    uint32_t n = static_cast<uint32_t>(S.OutputRange(cats, kBias + a, kBias + e, &r) - kBias) - a;
    if (n == 0) return r;  // start == end
    if (S.wp_matching) {
      if (!entry) {
        // pagemap_scan_hugetlb_hole_wp() (Debian 6.12): a marker on each
        // huge page the hole touches, whole.
        for (uint32_t x = s0; x < s0 + kPagesPerPmd; x++) S.protect.push_back(x);
      } else if (cats & kCatWritten) {
        if (a != s0 || a + n != s0 + kPagesPerPmd) {
          // "Partial HugeTLB page WP isn't possible": pagemap_scan_backout_range(),
          // walk_end = start, and the walk goes on (ret = 0).
          S.Backout(kBias + a, kBias + a + n);
          S.walk_end = kBias + a;
          r = 0;
        } else {
          // make_uffd_wp_huge_pte(): the huge PTE gets uffd-wp.
          for (uint32_t x = s0; x < s0 + kPagesPerPmd; x++) S.protect.push_back(x);
        }
      }
    }
    if (r) return r;
    a = e;
  }
  return 0;
}

// One PAGEMAP_SCAN on the current state, with the page-table slots listed in
// `unknown` taken as absent where `absent_mask` has their bit. Returns the
// result (or error) and fills sim->protect.
static Result RunScan(const Model& m, const Process& p, const Op& op, const KernelProfile& prof,
                      const std::vector<uint32_t>& unknown, uint32_t absent_mask, bool stale_walk_end,
                      ScanSim* sim) {
  const MmState& st = m.state();
  ScanSim& S = *sim;
  S.req = op.scan_req;
  S.inv = op.scan_inv;
  S.any = op.scan_any;
  S.ret = (op.flags & kFlagHasRet) ? op.scan_ret : prof.scan_categories;
  S.max_pages = op.scan_max && prof.mutant != Mutant::kScanIgnoresMaxPages ? op.scan_max : UINT64_MAX;
  S.vec_len = (op.flags & kFlagHasVec) ? op.scan_vec : op.npages;
  S.wp_matching = op.flags & kFlagWpMatching;
  S.check_wpasync = op.flags & kFlagCheckWpasync;
  S.has_buf = S.vec_len > 0;
  S.buf_len = std::min<uint64_t>(512, S.vec_len);
  S.buf.assign(std::max<size_t>(S.buf_len, 1), Entry{});
  bool fast_wp = S.wp_matching && !S.has_buf;  // executor passes vec=NULL with vec=0

  auto has_pt = [&](uint32_t page) {
    uint32_t slot = MmState::Slot(page);
    for (size_t k = 0; k < unknown.size(); k++)
      if (unknown[k] == slot) return !(absent_mask & (1u << k));
    return st.PtAt(p, page) != PtState::kAbsent;
  };

  uint64_t start = kBias + op.page, end = kBias + op.page + op.npages;
  // One walk_page_range() from `from`: returns 0, ENOSPC or EPERM.
  auto walk = [&](uint64_t from) -> int {
    uint32_t lo = static_cast<uint32_t>(from - kBias), hi = op.page + op.npages;
    for (size_t i = st.FirstVmaEnding(p, lo); i < p.vmas.size() && p.vmas[i].start < hi; i++) {
      const Vma& v = p.vmas[i];
      // pagemap_scan_test_walk() (§6.4).
      bool wp_allowed = m.WpAsync(v) && m.UsesMarkers(v);
      if (!wp_allowed) {
        if (S.check_wpasync) return EPERM;
        if (S.wp_matching) continue;
      }
      uint32_t vma_cat = (wp_allowed ? uint32_t{kCatWpAllowed} : 0u) |
                         (v.soft_dirty && prof.soft_dirty ? uint32_t{kCatSoftDirty} : 0u);
      uint32_t required = S.req & kCatWpAllowed;
      if (((vma_cat ^ S.inv) & required) != required) continue;
      if (v.kind == MemKind::kHugetlb) {
        if (int r = ScanHugetlbVma(m, p, std::max(lo, v.start), std::min(hi, v.end), vma_cat, has_pt, S)) return r;
        continue;
      }
      for (uint32_t page = std::max(lo, v.start); page < std::min(hi, v.end); page++) {
        const Pte* pte = p.ptes.Find(page);
        uint32_t slot = MmState::Slot(page);
        const bool* thp_dirty = p.thp.Find(slot);
        Pte split_pte;
        if (thp_dirty && !S.Split(slot)) {
          // pagemap_scan_thp_entry() on the PMD from `page` to the end of
          // the slot, the VMA or the range: one output of its categories
          // (pagemap_thp_category(): HUGE besides what a PTE shows).
          uint32_t pmd_end = std::min({(slot + 1) * kPagesPerPmd, hi, v.end});
          uint32_t cats = vma_cat | kCatHuge | PageCategories(pte, true, false, v, st, prof);
          if (!S.Interesting(cats)) {
            page = pmd_end - 1;
            continue;
          }
          int r = 0;
          uint32_t end = static_cast<uint32_t>(S.OutputRange(cats, kBias + page, kBias + pmd_end, &r) - kBias);
          if (end == page || !S.wp_matching || !(cats & kCatWritten)) {
            if (r) return r;
            page = pmd_end - 1;
            continue;
          }
          if (page == slot * kPagesPerPmd && end == page + kPagesPerPmd) {
            // make_uffd_wp_pmd(): the whole PMD protected, not split.
            for (uint32_t pg = page; pg < end; pg++) S.protect.push_back(pg);
            page = pmd_end - 1;
            continue;
          }
          // Only part of the PMD: split_huge_pmd(), the output backed out
          // (pagemap_scan_backout_range()), and the PTE walk goes on "as if
          // there was no THP" over the new table (split PTEs: SplitHugePmd()).
          S.Backout(kBias + page, kBias + end);
          S.split.push_back(slot);
        }
        if (thp_dirty && pte) {
          split_pte = *pte;
          if (*thp_dirty && prof.soft_dirty) split_pte.soft_dirty = true;
          pte = &split_pte;
        }
        bool pt = pte || has_pt(page);
        if (fast_wp && pt) {
          // Fast path: WP_MATCHING without a buffer protects every PTE of an
          // existing table, ignoring the masks (§6.4).
          if (!AlreadyWp(pte)) S.protect.push_back(page);
          continue;
        }
        bool huge_zero = pte && p.huge_zero.Find(MmState::Slot(page));
        uint32_t cats = vma_cat | PageCategories(pte, pt, huge_zero, v, st, prof);
        if (!S.Interesting(cats)) continue;
        bool counted;
        int r = S.Output(cats, kBias + page, &counted);
        if (!counted) return r;
        // Holes are protected whatever their categories (pagemap_scan_pte_hole());
        // PTEs only when WRITTEN.
        if (S.wp_matching && (!pt || (cats & kCatWritten))) S.protect.push_back(page);
        if (r) return r;
      }
    }
    return 0;
  };

  uint64_t n_out = 0;
  int ret = 0;
  for (uint64_t ws = start; ws < end; ws = S.walk_end) {
    // The contract: walk_end tells where the last walk stopped. Kernels with
    // the quirk keep a stale value from an earlier bounce-buffer stop (§6.3).
    if (!stale_walk_end) S.walk_end = 0;
    ret = walk(ws);
    n_out += S.Flush();
    if (ret != ENOSPC) break;
    if (S.vec_len == 0 || S.found == S.max_pages) break;
  }
  Result r;
  if (ret != 0 && ret != ENOSPC) {
    r.kind = ResultKind::kErr;
    r.err = ret;
    return r;
  }
  r.kind = ResultKind::kValue;
  r.is_scan = true;
  r.value = static_cast<int64_t>(n_out);
  r.regions = S.out;
  r.walk_end = (S.walk_end ? S.walk_end : end) - kBias;
  return r;
}

Result Model::DoScan(Step& s) {
  const Op& op = s.op;
  Result r;
  if (!profile_.pagemap_scan) {
    // 6.1: the pagemap file has no unlocked_ioctl → ENOTTY (§6.1).
    r.kind = ResultKind::kErr;
    r.err = ENOTTY;
    return r;
  }
  // pagemap_scan_get_args() (§6.1): flags are always valid here; masks.
  uint32_t ret_mask = (op.flags & kFlagHasRet) ? op.scan_ret : profile_.scan_categories;
  if ((op.scan_req | op.scan_inv | op.scan_any | ret_mask) & ~profile_.scan_categories) {
    r.kind = ResultKind::kErr;
    r.err = EINVAL;
    return r;
  }
  Process& p = st_.procs[op.proc];
  uint32_t lo = op.page, hi = op.page + op.npages;
  if ((op.flags & kFlagWpMatching) && TouchesHugeZero(p, lo, hi))
    s.pred->unmodelled = "PAGEMAP_SCAN write-protecting a huge zero page";
  // Page-table slots the model cannot know (PT_RECLAIM) and PTEs it cannot
  // pin down (doubts): every combination is a whole-result alternative.
  std::vector<uint32_t> unknown;
  if (op.npages) {
    for (uint32_t slot = MmState::Slot(lo); slot <= MmState::Slot(hi - 1); slot++) {
      const PtState* ps = p.pt.Find(slot);
      bool unk = ps && *ps == PtState::kUnknown;
      // A hugetlb slot: its huge PTE is reachable when the GiB has a PMD table.
      int vi = st_.VmaAt(p, slot * kPagesPerPmd);
      if (vi >= 0 && p.vmas[vi].kind == MemKind::kHugetlb)
        unk = !(ps && *ps == PtState::kPresent) && HugetlbSlotTable(p, slot * kPagesPerPmd) != PtState::kPresent;
      if (unk) unknown.push_back(slot);
    }
  }
  if (unknown.size() > 4) {
    // Each combination is an alternative: past 4 tables the model stops
    // rather than take the others as present ([EMP] 6.18.44: five slots
    // zapped whole, all five tables freed).
    s.pred->unmodelled = "PAGEMAP_SCAN over more than 4 page tables the model cannot know";
    unknown.resize(4);
  }
  std::vector<std::pair<uint32_t, Grant>> doubtful;
  for (auto it = p.doubts.LowerBound(lo); it != p.doubts.end() && it->first < hi; ++it)
    doubtful.push_back({it->first, it->second.why});
  if (doubtful.size() > 4) {
    s.pred->unmodelled = "PAGEMAP_SCAN over more than 4 PTEs the model cannot pin down";
    doubtful.resize(4);
  }
  // VMAs whose VM_SOFTDIRTY a merge may have lost (quirk softdirty_lost_on_merge,
  // Vma::sd_lost_quirk): PAGEMAP_SCAN's soft_dirty category reads the same
  // VMA flag as pagemap (fs/proc/task_mmu.c pagemap_page_category():
  // vma->vm_flags & VM_SOFTDIRTY), so each is a whole-result alternative too.
  std::vector<size_t> sd_lost;
  if (profile_.soft_dirty)
    for (size_t vi = 0; vi < p.vmas.size() && sd_lost.size() < 2; vi++)
      if (p.vmas[vi].sd_lost_quirk && p.vmas[vi].start < hi && p.vmas[vi].end > lo) sd_lost.push_back(vi);
  struct Candidate {
    Result result;
    Grants grants;
    uint32_t doubt_mask = 0, absent_mask = 0, lost_mask = 0;
    ScanSim sim;
  };
  std::vector<Candidate> cands;
  bool stale_quirk = profile_.quirks.Has(Quirk::kScanStaleWalkEnd);
  for (uint32_t lm = 0; lm < (1u << sd_lost.size()); lm++)
  for (uint32_t dm = 0; dm < (1u << doubtful.size()); dm++) {
    // The world where the doubts in `dm` took their alternative and the
    // VMAs in `lm` lost VM_SOFTDIRTY.
    std::optional<Model> world_copy;
    if (dm || lm) {
      world_copy.emplace(*this);
      for (size_t k = 0; k < doubtful.size(); k++)
        world_copy->ResolveDoubt(op.proc, doubtful[k].first, (dm >> k) & 1);
      for (size_t k = 0; k < sd_lost.size(); k++)
        if ((lm >> k) & 1) world_copy->st_.procs[op.proc].vmas[sd_lost[k]].soft_dirty = false;
    }
    const Model& world = (dm || lm) ? *world_copy : *this;
    const Process& wp = world.state().procs[op.proc];
    for (uint32_t am = 0; am < (1u << unknown.size()); am++) {
      for (int stale = 0; stale <= (stale_quirk ? 1 : 0); stale++) {
        Candidate c;
        c.doubt_mask = dm;
        c.absent_mask = am;
        c.lost_mask = lm;
        for (size_t k = 0; k < sd_lost.size(); k++)
          if ((lm >> k) & 1) c.grants.Add(Grant::Of(static_cast<Quirk>(p.vmas[sd_lost[k]].sd_lost_quirk - 1)));
        c.result = RunScan(world, wp, op, profile_, unknown, am, stale, &c.sim);
        for (size_t k = 0; k < doubtful.size(); k++)
          if ((dm >> k) & 1) c.grants.Add(doubtful[k].second);
        if (am) c.grants.Add(Grant::Of(Allowance::kPageTableMayBeReclaimed));
        if (stale) {
          // Only an alternative where the stale value differs.
          if (c.result == cands.back().result) continue;
          c.grants.Add(Grant::Of(Quirk::kScanStaleWalkEnd));
        }
        cands.push_back(std::move(c));
      }
    }
  }
  // A hugetlb hole write-protects (markers) where a none huge PTE does not:
  // two candidates with one answer but other markers leave the state unknown.
  if ((op.flags & kFlagWpMatching) && TouchesHugetlb(p, lo, hi))
    for (size_t a = 0; a < cands.size(); a++)
      for (size_t b = a + 1; b < cands.size(); b++)
        if (cands[a].result == cands[b].result && cands[a].sim.protect != cands[b].sim.protect)
          s.pred->unmodelled = "PAGEMAP_SCAN write-protecting hugetlb pages whose page table the model cannot know";
  r = cands[0].result;
  for (size_t k = 1; k < cands.size(); k++) {
    bool dup = cands[k].result == r;
    for (const Alternative& a : s.pred->alternatives) dup |= a.result == cands[k].result;
    if (!dup) s.pred->alternatives.push_back({cands[k].result, cands[k].grants});
  }

  // Follow the kernel's answer: the candidates it matches (the contract's
  // first); doubts on which they all agree are resolved, the others kept.
  std::vector<const Candidate*> matching;
  const Result* obs = cands.size() > 1 ? s.Observed() : nullptr;  // one candidate: no choice
  for (const Candidate& c : cands)
    if (!obs || ResultMatches(c.result, *obs)) matching.push_back(&c);
  if (matching.empty()) matching.push_back(&cands[0]);
  const Candidate& chosen = *matching[0];
  for (size_t k = 0; k < unknown.size(); k++) {
    bool absent = chosen.absent_mask & (1u << k), agree = true;
    for (const Candidate* c : matching) agree &= ((c->absent_mask & (1u << k)) != 0) == absent;
    if (!agree) continue;  // the answer does not tell: still unknown
    if (absent) p.pt.Erase(unknown[k]);
    else p.pt[unknown[k]] = PtState::kPresent;
  }
  // A VM_SOFTDIRTY the answer settles: lost in every matching candidate, or kept.
  for (size_t k = 0; k < sd_lost.size(); k++) {
    bool lost = (chosen.lost_mask >> k) & 1, agree = true;
    for (const Candidate* c : matching) agree &= ((c->lost_mask >> k) & 1) == lost;
    if (!agree) continue;
    Vma& v = p.vmas[sd_lost[k]];
    if (lost) v.soft_dirty = false;
    v.sd_lost_quirk = 0;
  }
  std::vector<uint32_t> kept;  // doubts the answer leaves open
  for (size_t k = 0; k < doubtful.size(); k++) {
    bool side = (chosen.doubt_mask >> k) & 1, agree = true;
    for (const Candidate* c : matching) agree &= ((c->doubt_mask >> k) & 1) == side;
    if (agree) ResolveDoubt(op.proc, doubtful[k].first, side);
    else kept.push_back(doubtful[k].first);
  }
  // WP_MATCHING: make_uffd_wp_pte() / uffd_wp_range() on the chosen branch
  // (to both sides of a doubt that stays open).
  auto protect = [](const Variant& v) -> Variant {
    if (!v) return Pte{PteKind::kUffdMarker, false, true, kZeroPage};
    Pte out = *v;
    if (out.kind != PteKind::kUffdMarker) out.uffd_wp = true;
    return out;
  };
  for (uint32_t slot : chosen.sim.split) st_.SplitHugePmd(p, slot);
  for (uint32_t page : chosen.sim.protect) {
    const Doubt* d = p.doubts.Find(page);
    std::optional<Doubt> saved;
    if (d) saved = *d;
    Variant now = protect(Primary(p, page));
    if (Pte* pte = p.ptes.Find(page)) *pte = *now;
    else st_.SetPte(p, page, *now);
    if (saved) SetDoubt(op.proc, page, protect(saved->alt_none ? Variant{} : Variant{saved->alt}), saved->why);
  }
  return r;
}

// --- clear_refs -------------------------------------------------------------

Result Model::DoClearRefs(Step& s) {
  // fs/proc/task_mmu.c clear_refs_write() ([61] fs/proc/task_mmu.c:1066-1325): types 1-3 and 5
  // have no pagemap-visible effect; 4 clears soft-dirty when the kernel has
  // it and is a silent no-op otherwise (docs/CONTRACT.md §4.1).
  if (s.op.value != 4 || !profile_.soft_dirty) return Ok();
  if (profile_.mutant == Mutant::kClearRefsKeepsSoftDirty) return Ok();
  Process& p = st_.procs[s.op.proc];
  for (Vma& v : p.vmas) {
    v.soft_dirty = false;
    v.sd_lost_quirk = 0;
  }
  // fs/proc/task_mmu.c clear_soft_dirty(): pte_wrprotect() + pte_clear_soft_dirty() (a PTE
  // the quirk left writable is write-protected again).
  for (auto& [page, pte] : p.ptes) {
    // clear_refs_walk_ops has no hugetlb_entry: a huge PTE keeps its bit.
    if (int vi = st_.VmaAt(p, page); vi >= 0 && p.vmas[vi].kind == MemKind::kHugetlb) continue;
    pte.soft_dirty = false;
    pte.sd_silent = false;
  }
  for (auto& [page, d] : p.doubts) {
    d.alt.soft_dirty = false;
    d.alt.sd_silent = false;
  }
  return Ok();
}

}  // namespace mmdiff
