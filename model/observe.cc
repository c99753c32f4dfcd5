// Observations: /proc/PID/pagemap entries and the PAGEMAP_SCAN ioctl
// (SEMANTICS.md §1.3 and §5; [61]/[UP] fs/proc/task_mmu.c).
#include <algorithm>
#include <cerrno>

#include "model/model.h"

namespace mmdiff {

uint64_t Model::PagemapEntry(const Process& p, uint32_t page) const {
  // pagemap_pte_hole()/pte_to_pagemap_entry() (§1.3).
  int vi = st_.VmaAt(p, page);
  if (vi < 0) return 0;
  const Vma& v = p.vmas[vi];
  uint64_t e = 0;
  if (const Pte* pte = p.ptes.Find(page)) {
    switch (pte->kind) {
      case PteKind::kPresent:
        e |= kPmPresent;
        if (pte->page != kZeroPage) {
          const PageObj& pg = st_.pages[pte->page];
          if (!pg.anon) e |= kPmFile;
          if (pg.mapcount == 1) e |= kPmMmapExclusive;
        }
        break;
      case PteKind::kSwap:
        e |= kPmSwap;
        break;
      case PteKind::kUffdMarker:
        e |= kPmSwap | kPmUffdWp;  // markers look like swap entries (§0.1 item 1)
        break;
      case PteKind::kGuard:
        e |= kPmSwap | (profile_.guard ? kPmGuardRegion : 0);
        break;
    }
    if (pte->soft_dirty) e |= kPmSoftDirty;
    if (pte->uffd_wp) e |= kPmUffdWp;
  }
  if (v.soft_dirty) e |= kPmSoftDirty;
  if (!profile_.soft_dirty) e &= ~kPmSoftDirty;  // VM_SOFTDIRTY and _PAGE_SOFT_DIRTY are 0
  return e;
}

Result Model::DoPagemap(Step& s) {
  const Op& op = s.op;
  Process& p = st_.procs[op.proc];
  Result r;
  r.kind = ResultKind::kPagemap;
  r.pagemap.resize(op.npages);
  std::vector<uint32_t> discarded;
  for (uint32_t i = 0; i < op.npages; i++) {
    uint32_t page = op.page + i;
    r.pagemap[i] = PagemapEntry(p, page);
    const Pte* pte = p.ptes.Find(page);
    if (pte && pte->kind == PteKind::kPresent && pte->page != kZeroPage && st_.pages[pte->page].lazyfree) {
      // A lazyfree page may have been discarded by reclaim: it then reads as
      // a none PTE (the VMA's soft-dirty only).
      int vi = st_.VmaAt(p, page);
      uint64_t gone = p.vmas[vi].soft_dirty && profile_.soft_dirty ? kPmSoftDirty : 0;
      uint64_t bits = (r.pagemap[i] ^ gone) & kPmShownBits;
      s.pred->latitudes.push_back({i, bits, Allowance::kLazyfreeMayBeDiscarded});
      if (s.apply && s.observed && i < s.observed->pagemap.size() &&
          !(s.observed->pagemap[i] & kPmPresent))
        discarded.push_back(page);
    }
  }
  for (uint32_t page : discarded) st_.ClearPte(p, page);
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

uint32_t PageCategories(const Pte* pte, bool has_pt, const Vma& v, const MmState& st,
                        const KernelProfile& prof) {
  if (!pte) {
    // none PTE: WRITTEN (July-2026 fix, the contract); page-table hole:
    // WRITTEN only in uffd-wp VMAs (§5.5, §5.9).
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

// One PAGEMAP_SCAN on the current state, with the page-table slots listed in
// `unknown` taken as absent where `absent_mask` has their bit. Returns the
// result (or error) and fills sim->protect.
static Result RunScan(const Model& m, const Process& p, const Op& op, const KernelProfile& prof,
                      const std::vector<uint32_t>& unknown, uint32_t absent_mask, ScanSim* sim) {
  const MmState& st = m.state();
  ScanSim& S = *sim;
  S.req = op.scan_req;
  S.inv = op.scan_inv;
  S.any = op.scan_any;
  S.ret = (op.flags & kFlagHasRet) ? op.scan_ret : prof.scan_categories;
  S.max_pages = op.scan_max ? op.scan_max : UINT64_MAX;
  S.vec_len = (op.flags & kFlagHasVec) ? op.scan_vec : op.npages;
  S.wp_matching = op.flags & kFlagWpMatching;
  S.check_wpasync = op.flags & kFlagCheckWpasync;
  S.has_buf = S.vec_len > 0;
  S.buf_len = std::min<uint64_t>(512, S.vec_len);
  S.buf.assign(std::max<size_t>(S.buf_len, 1), Entry{});
  bool fast_wp = S.wp_matching && !S.has_buf;  // executor passes vec=NULL with vec=0

  auto has_pt = [&](uint32_t page) {
    uint32_t slot = MmState::Slot(page);
    PtState ps = st.PtAt(p, page);
    if (ps == PtState::kUnknown) {
      for (size_t k = 0; k < unknown.size(); k++)
        if (unknown[k] == slot) return !(absent_mask & (1u << k));
      return true;
    }
    return ps == PtState::kPresent;
  };

  uint64_t start = kBias + op.page, end = kBias + op.page + op.npages;
  // One walk_page_range() from `from`: returns 0, ENOSPC or EPERM.
  auto walk = [&](uint64_t from) -> int {
    uint32_t lo = static_cast<uint32_t>(from - kBias), hi = op.page + op.npages;
    for (size_t i = st.FirstVmaEnding(p, lo); i < p.vmas.size() && p.vmas[i].start < hi; i++) {
      const Vma& v = p.vmas[i];
      // pagemap_scan_test_walk() (§5.4).
      bool wp_allowed = m.WpAsync(v) && m.UsesMarkers(v);
      if (!wp_allowed) {
        if (S.check_wpasync) return EPERM;
        if (S.wp_matching) continue;
      }
      uint32_t vma_cat = (wp_allowed ? uint32_t{kCatWpAllowed} : 0u) |
                         (v.soft_dirty && prof.soft_dirty ? uint32_t{kCatSoftDirty} : 0u);
      uint32_t required = S.req & kCatWpAllowed;
      if (((vma_cat ^ S.inv) & required) != required) continue;
      for (uint32_t page = std::max(lo, v.start); page < std::min(hi, v.end); page++) {
        const Pte* pte = p.ptes.Find(page);
        bool pt = pte || has_pt(page);
        if (fast_wp && pt) {
          // Fast path: WP_MATCHING without a buffer protects every PTE of an
          // existing table, ignoring the masks (§5.7 item 2).
          if (!AlreadyWp(pte)) S.protect.push_back(page);
          continue;
        }
        uint32_t cats = vma_cat | PageCategories(pte, pt, v, st, prof);
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
    // The contract: walk_end tells where the last walk stopped. The kernel
    // keeps a stale value from an earlier bounce-buffer stop (§5.6).
    if (!prof.quirks.Has(Quirk::kScanStaleWalkEnd)) S.walk_end = 0;
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
    // 6.1: the pagemap file has no unlocked_ioctl → ENOTTY (§5.2).
    r.kind = ResultKind::kErr;
    r.err = ENOTTY;
    return r;
  }
  // pagemap_scan_get_args() (§5.2): flags are always valid here; masks.
  uint32_t ret_mask = (op.flags & kFlagHasRet) ? op.scan_ret : profile_.scan_categories;
  if ((op.scan_req | op.scan_inv | op.scan_any | ret_mask) & ~profile_.scan_categories) {
    r.kind = ResultKind::kErr;
    r.err = EINVAL;
    return r;
  }
  Process& p = st_.procs[op.proc];
  // Page-table slots the model cannot know (PT_RECLAIM): try each choice.
  std::vector<uint32_t> unknown;
  if (op.npages) {
    for (uint32_t slot = MmState::Slot(op.page); slot <= MmState::Slot(op.page + op.npages - 1); slot++) {
      const PtState* ps = p.pt.Find(slot);
      if (ps && *ps == PtState::kUnknown && unknown.size() < 4) unknown.push_back(slot);
    }
  }
  ScanSim primary;
  r = RunScan(*this, p, op, profile_, unknown, 0, &primary);
  uint32_t chosen = 0;
  ScanSim* chosen_sim = &primary;
  std::vector<ScanSim> sims;
  if (!unknown.empty()) {
    sims.resize((1u << unknown.size()) - 1);
    s.pred->alternative_allowance = Allowance::kPageTableMayBeReclaimed;
    bool matched_primary = s.observed && ResultMatches(r, *s.observed);
    for (uint32_t mask = 1; mask < (1u << unknown.size()); mask++) {
      ScanSim& sim = sims[mask - 1];
      Result alt = RunScan(*this, p, op, profile_, unknown, mask, &sim);
      if (!(alt == r)) s.pred->alternatives.push_back(alt);
      if (s.observed && !matched_primary && chosen == 0 && ResultMatches(alt, *s.observed)) {
        chosen = mask;
        chosen_sim = &sim;
      }
    }
  }
  if (!s.apply) return r;
  for (size_t k = 0; k < unknown.size(); k++) {
    if (chosen & (1u << k)) p.pt.Erase(unknown[k]);
    else p.pt[unknown[k]] = PtState::kPresent;
  }
  // WP_MATCHING: make_uffd_wp_pte() / uffd_wp_range() on the chosen branch.
  for (uint32_t page : chosen_sim->protect) {
    Pte* pte = p.ptes.Find(page);
    if (pte) {
      if (pte->kind != PteKind::kUffdMarker) pte->uffd_wp = true;
    } else {
      st_.SetPte(p, page, Pte{PteKind::kUffdMarker, false, true, kZeroPage});
    }
  }
  return r;
}

}  // namespace mmdiff
