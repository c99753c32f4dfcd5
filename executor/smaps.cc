// Why smaps and not pagemap or kpageflags for PAGE_IS_HUGE (fs/proc/task_mmu.c,
// 6.1 to 6.18): PAGEMAP_SCAN sets PAGE_IS_HUGE for an entry mapped by a PMD
// (pagemap_thp_category(), from pagemap_scan_thp_entry() under
// pmd_trans_huge_lock()) or by a hugetlb pte (pagemap_hugetlb_category()),
// never for a PTE, even of a large folio. pagemap has no such bit: a
// PMD-mapped THP and one split to PTEs give the same words
// (pagemap_pmd_range() and pte_to_pagemap_entry() both report consecutive
// PFNs), and /proc/kpageflags' KPF_THP describes the folio, which stays large
// after __split_huge_pmd(). smaps counts exactly the PMD mappings, per VMA:
// smaps_pmd_entry(), reached through the same pmd_trans_huge_lock(), adds
// HPAGE_PMD_SIZE to AnonHugePages (anon folio), ShmemPmdMapped (swap-backed)
// or FilePmdMapped (page cache), skipping the huge zero PMD
// (vm_normal_page_pmd() is NULL for it); smaps_hugetlb_range() adds each
// present hugetlb page to Shared_Hugetlb or Private_Hugetlb. Their sum over a
// VMA, in 4 KiB pages, is the number of its pages the scan reports
// PAGE_IS_HUGE | PAGE_IS_PRESENT without PAGE_IS_PFNZERO.
#include "executor/smaps.h"

#include <fcntl.h>
#include <unistd.h>

#include <cstring>

namespace mmdiff::exec {
namespace {

// smaps lines are short, apart from a VMA's path (at most PATH_MAX).
char g_buf[64 * 1024];

bool StartsWith(const char* line, size_t len, const char* prefix) {
  size_t n = strlen(prefix);
  return len >= n && memcmp(line, prefix, n) == 0;
}

// "7f00-7f10 rw-p ...": the VMA's range. False for a field line.
bool ParseHeader(const char* line, size_t len, uint64_t* start, uint64_t* end) {
  uint64_t v[2] = {0, 0};
  size_t i = 0;
  for (int k = 0; k < 2; k++) {
    size_t digits = 0;
    for (; i < len; i++, digits++) {
      char c = line[i];
      int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
      if (d < 0) break;
      v[k] = v[k] * 16 + static_cast<uint64_t>(d);
    }
    if (digits == 0 || i >= len || line[i] != (k == 0 ? '-' : ' ')) return false;
    i++;
  }
  *start = v[0], *end = v[1];
  return true;
}

// "Name:   123 kB" → 123.
uint64_t FieldKb(const char* line, size_t len) {
  uint64_t v = 0;
  size_t i = 0;
  while (i < len && line[i] != ':') i++;
  for (i++; i < len && line[i] == ' '; i++) {
  }
  for (; i < len && line[i] >= '0' && line[i] <= '9'; i++) v = v * 10 + static_cast<uint64_t>(line[i] - '0');
  return v;
}

}  // namespace

int ReadSmapsHuge(uint64_t lo, uint64_t hi, SmapsVma* out, int max) {
  int fd = open("/proc/self/smaps", O_RDONLY | O_CLOEXEC);
  if (fd < 0) return -1;
  int count = 0;
  bool in = false, overflow = false;  // the current VMA overlaps [lo, hi)
  size_t have = 0;
  for (;;) {
    ssize_t n = read(fd, g_buf + have, sizeof g_buf - have);
    if (n < 0) {
      close(fd);
      return -1;
    }
    have += static_cast<size_t>(n);
    size_t pos = 0;
    for (;;) {
      const char* nl = static_cast<const char*>(memchr(g_buf + pos, '\n', have - pos));
      if (!nl && n > 0) break;  // a partial line: read on
      const char* line = g_buf + pos;
      size_t len = nl ? static_cast<size_t>(nl - line) : have - pos;
      pos = nl ? pos + len + 1 : have;
      uint64_t start, end;
      if (ParseHeader(line, len, &start, &end)) {
        in = start < hi && end > lo;
        if (in && count == max) overflow = true, in = false;
        if (in) out[count++] = SmapsVma{start, end, 0};
      } else if (in && (StartsWith(line, len, "AnonHugePages:") || StartsWith(line, len, "ShmemPmdMapped:") ||
                        StartsWith(line, len, "FilePmdMapped:") || StartsWith(line, len, "Shared_Hugetlb:") ||
                        StartsWith(line, len, "Private_Hugetlb:"))) {
        out[count - 1].huge_kb += FieldKb(line, len);
      }
      if (pos >= have) break;
    }
    if (n == 0) break;
    if (pos == 0 && have == sizeof g_buf) {  // one line longer than the buffer
      close(fd);
      return -1;
    }
    memmove(g_buf, g_buf + pos, have - pos);
    have -= pos;
  }
  close(fd);
  return overflow ? -1 : count;
}

}  // namespace mmdiff::exec
