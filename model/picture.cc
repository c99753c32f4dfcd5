#include "model/picture.h"

#include <algorithm>

namespace mmdiff {
namespace {

char KindLetter(const Vma& v) {
  switch (v.kind) {
    case MemKind::kAnon: return 'a';
    case MemKind::kShmem: return 's';
    case MemKind::kMemfd: return 'm';
    case MemKind::kFile: return 'f';
    case MemKind::kHugetlb: return 'h';
  }
  return '?';
}

char ProtLetter(const Vma& v) {
  static constexpr char kLetters[] = {'n', 'r', 'w', 'x', 'X'};
  char c = kLetters[static_cast<int>(v.prot)];
  if (v.shared && c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
  if (v.shared && c == 'X') c = '#';
  return c;
}

}  // namespace

void PictureRange(const Model& model, int proc, uint32_t page, uint32_t npages, uint32_t max_width,
                  uint32_t* lo, uint32_t* hi) {
  const Process& p = model.state().procs[proc];
  uint32_t a = page, b = page + std::max<uint32_t>(npages, 1);
  if (!p.vmas.empty()) {
    a = std::min(a, p.vmas.front().start);
    b = std::max(b, p.vmas.back().end);
  }
  if (b - a > max_width) {
    uint32_t margin = max_width / 6;
    a = page > margin ? page - margin : 0;
    b = std::min<uint32_t>(a + max_width, kArenaPages);
  }
  *lo = a;
  *hi = b;
}

std::string DrawAddressSpace(const Model& model, int proc, uint32_t lo, uint32_t hi) {
  const MmState& st = model.state();
  const Process& p = st.procs[proc];
  size_t w = hi - lo;
  std::string ruler(w, ' '), vma(w, '.'), prot(w, ' '), vsd(w, ' '), uffd(w, ' '), pte(w, '.'),
      sd(w, '.'), wp(w, '.'), excl(w, '.'), pt(w, ' ');
  for (size_t i = 0; i < w; i += 10) {
    std::string n = std::to_string(lo + i);
    for (size_t k = 0; k < n.size() && i + k < w; k++) ruler[i + k] = n[k];
  }
  for (const Vma& v : p.vmas) {
    for (uint32_t pg = std::max(v.start, lo); pg < std::min(v.end, hi); pg++) {
      size_t i = pg - lo;
      char k = KindLetter(v);
      vma[i] = pg == v.start ? static_cast<char>(k - 'a' + 'A') : k;
      prot[i] = ProtLetter(v);
      vsd[i] = v.soft_dirty ? 'd' : '.';
      int n = !!(v.uffd_modes & kUffdModeWp) + !!(v.uffd_modes & kUffdModeMissing) +
              !!(v.uffd_modes & kUffdModeMinor);
      if (n > 1) uffd[i] = '+';
      else if (v.uffd_modes & kUffdModeWp) uffd[i] = model.WpAsync(v) ? 'a' : 'w';
      else if (v.uffd_modes & kUffdModeMissing) uffd[i] = 'm';
      else if (v.uffd_modes & kUffdModeMinor) uffd[i] = 'n';
      else uffd[i] = '.';
    }
  }
  for (auto it = p.ptes.LowerBound(lo); it != p.ptes.end() && it->first < hi; ++it) {
    size_t i = it->first - lo;
    const Pte& e = it->second;
    switch (e.kind) {
      case PteKind::kPresent:
        pte[i] = e.page == kZeroPage ? 'z' : st.pages[e.page].anon ? 'a' : 'c';
        if (e.page != kZeroPage && st.pages[e.page].mapcount == 1) excl[i] = 'x';
        break;
      case PteKind::kSwap: pte[i] = 's'; break;
      case PteKind::kUffdMarker: pte[i] = 'm'; break;
      case PteKind::kGuard: pte[i] = 'g'; break;
    }
    if (e.soft_dirty) sd[i] = '1';
    if (e.uffd_wp || e.kind == PteKind::kUffdMarker) wp[i] = '1';
  }
  // Doubts (only drawn when there are some in the window): the kernel may
  // hold instead . none, m a uffd-wp marker, * the page with other bits.
  std::string doubt(w, ' ');
  bool any_doubt = false;
  for (auto it = p.doubts.LowerBound(lo); it != p.doubts.end() && it->first < hi; ++it) {
    const Doubt& d = it->second;
    doubt[it->first - lo] = d.alt_none ? '.' : d.alt.kind == PteKind::kUffdMarker ? 'm' : '*';
    any_doubt = true;
  }
  for (size_t i = 0; i < w; i++) {
    PtState s = st.PtAt(p, static_cast<uint32_t>(lo + i));
    pt[i] = s == PtState::kPresent ? '+' : s == PtState::kUnknown ? '?' : ' ';
  }
  auto row = [](const char* name, const std::string& s) {
    std::string r = name;
    r.resize(6, ' ');
    std::string line = r + s;
    while (!line.empty() && line.back() == ' ') line.pop_back();
    return line + "\n";
  };
  std::string out = "p" + std::to_string(proc) + " pages [" + std::to_string(lo) + "," +
                    std::to_string(hi) + ")\n";
  out += row("page", ruler) + row("vma", vma) + row("prot", prot) + row("vmasd", vsd) +
         row("uffd", uffd) + row("pte", pte) + (any_doubt ? row("doubt", doubt) : "") + row("sd", sd) +
         row("wp", wp) + row("excl", excl) + row("pt", pt);
  return out;
}

}  // namespace mmdiff
