#include "prog/text.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cinttypes>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <optional>
#include <vector>

#include "prog/op_table.h"

namespace mmdiff {
namespace {

struct Token {
  std::string_view text;
  int column;  // 1-based
};

// Raised inside the parser and caught at the line boundary; never escapes.
struct LineError {
  Token token;
  std::string message;
};

std::vector<Token> Tokenize(std::string_view line) {
  std::vector<Token> out;
  size_t i = 0;
  while (i < line.size()) {
    while (i < line.size() && (line[i] == ' ' || line[i] == '\t' || line[i] == '\r')) i++;
    size_t start = i;
    while (i < line.size() && line[i] != ' ' && line[i] != '\t' && line[i] != '\r') i++;
    if (i > start) out.push_back({line.substr(start, i - start), static_cast<int>(start) + 1});
  }
  return out;
}

bool ParseU64(std::string_view s, uint64_t* out) {
  if (s.empty()) return false;
  int base = 10;
  if (s.size() > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
    base = 16;
    s.remove_prefix(2);
  }
  uint64_t v = 0;
  for (char c : s) {
    int d;
    if (c >= '0' && c <= '9') d = c - '0';
    else if (base == 16 && c >= 'a' && c <= 'f') d = c - 'a' + 10;
    else if (base == 16 && c >= 'A' && c <= 'F') d = c - 'A' + 10;
    else return false;
    if (v > (UINT64_MAX - d) / base) return false;
    v = v * base + d;
  }
  *out = v;
  return true;
}

uint32_t Number(const Token& t, std::string_view s, uint64_t max, const char* what) {
  uint64_t v;
  if (!ParseU64(s, &v)) throw LineError{t, std::string("expected a number for ") + what};
  if (v > max) throw LineError{t, std::string(what) + " out of range (max " + std::to_string(max) + ")"};
  return static_cast<uint32_t>(v);
}

int IndexOf(std::span<const char* const> names, std::string_view s) {
  for (size_t i = 0; i < names.size(); i++)
    if (s == names[i]) return static_cast<int>(i);
  return -1;
}

uint32_t ParseCategories(const Token& t, std::string_view s) {
  if (s.size() > 2 && s[0] == '0' && s[1] == 'x') return Number(t, s, 0xffff, "category mask");
  uint32_t mask = 0;
  while (!s.empty()) {
    size_t comma = s.find(',');
    std::string_view name = s.substr(0, comma);
    int bit = IndexOf(ScanCategoryNames(), name);
    if (bit < 0) throw LineError{t, "unknown scan category '" + PrintableToken(name) + "'"};
    mask |= 1u << bit;
    if (comma == std::string_view::npos) break;
    s.remove_prefix(comma + 1);
    if (s.empty()) throw LineError{t, "empty category after ','"};
  }
  if (mask == 0) throw LineError{t, "empty category list"};
  return mask;
}

void ParseBacking(const Token& t, Op* op) {
  std::string_view s = t.text;
  if (s == "anon") {
    op->backing = Backing::kAnon;
    return;
  }
  if (s.starts_with("memfd:")) op->backing = Backing::kMemfd, s.remove_prefix(6);
  else if (s.starts_with("file:")) op->backing = Backing::kFile, s.remove_prefix(5);
  else throw LineError{t, "expected a backing: anon, memfd:F+OFF or file:F+OFF"};
  size_t plus = s.find('+');
  op->file = static_cast<uint8_t>(Number(t, s.substr(0, plus), kMaxFiles - 1, "file slot"));
  op->file_pgoff = plus == std::string_view::npos
                       ? 0
                       : Number(t, s.substr(plus + 1), kMaxFilePages - 1, "file page offset");
}

void ParsePositional(const ArgSpec& spec, const Token& t, Op* op) {
  switch (spec.kind) {
    case ArgKind::kPage: op->page = Number(t, t.text, kArenaPages - 1, "page"); return;
    case ArgKind::kFilePage: op->page = Number(t, t.text, kMaxFilePages - 1, "file page"); return;
    case ArgKind::kNpages: op->npages = Number(t, t.text, kArenaPages, "page count"); return;
    case ArgKind::kNewNpages: op->new_npages = Number(t, t.text, kArenaPages, "page count"); return;
    case ArgKind::kProt: {
      int v = IndexOf(ProtNames(), t.text);
      if (v < 0) throw LineError{t, "expected a protection: none r rw rx rwx"};
      op->prot = static_cast<Prot>(v);
      return;
    }
    case ArgKind::kBacking: ParseBacking(t, op); return;
    case ArgKind::kSharing:
      if (t.text == "shared") op->shared = true;
      else if (t.text == "private") op->shared = false;
      else throw LineError{t, "expected private or shared"};
      return;
    case ArgKind::kAdvice: {
      int v = IndexOf(AdviceNames(), t.text);
      if (v < 0) throw LineError{t, "unknown madvise advice"};
      op->advice = static_cast<Advice>(v);
      return;
    }
    case ArgKind::kFile:
      op->file = static_cast<uint8_t>(Number(t, t.text, kMaxFiles - 1, "file slot"));
      return;
    case ArgKind::kClearRefsType:
      op->value = Number(t, t.text, 5, "clear_refs type");
      if (op->value < 1) throw LineError{t, "clear_refs type out of range (1-5)"};
      return;
    case ArgKind::kOnOff:
      if (t.text == "on") op->flags |= kFlagWpOn;
      else if (t.text != "off") throw LineError{t, "expected on or off"};
      return;
    case ArgKind::kFlag: case ArgKind::kMove: case ArgKind::kOffset: case ArgKind::kByte:
    case ArgKind::kCategories: case ArgKind::kNumber: case ArgKind::kFeatures:
    case ArgKind::kUffdFeatures: case ArgKind::kUffdModes:
      break;
  }
}

std::span<const char* const> ListNames(ArgKind kind) {
  if (kind == ArgKind::kFeatures) return FeatureNames();
  if (kind == ArgKind::kUffdFeatures) return UffdFeatureNames();
  return UffdModeNames();
}

uint32_t& ListField(ArgKind kind, Op* op) {
  if (kind == ArgKind::kFeatures) return op->required_features;
  if (kind == ArgKind::kUffdFeatures) return op->uffd_features;
  return op->uffd_modes;
}

// Tries to consume tokens[*i] (and its value) as `spec`; returns false if it does not match.
bool ParseOptional(const ArgSpec& spec, const std::vector<Token>& tokens, size_t* i, Op* op) {
  const Token& t = tokens[*i];
  std::string_view s = t.text;
  switch (spec.kind) {
    case ArgKind::kFlag:
      if (s != spec.word) return false;
      op->flags |= spec.bit;
      return true;
    case ArgKind::kMove:
      if (s != spec.word) return false;
      if (*i + 1 >= tokens.size()) throw LineError{t, "'move' needs a page"};
      ++*i;
      op->new_page = Number(tokens[*i], tokens[*i].text, kArenaPages - 1, "page");
      op->flags |= kFlagMove;
      return true;
    case ArgKind::kOffset:
      if (!s.starts_with('+')) return false;
      op->offset = static_cast<uint16_t>(Number(t, s.substr(1), kPageSize - 1, "offset"));
      op->flags |= kFlagHasOffset;
      return true;
    case ArgKind::kByte:
      if (!s.starts_with('=')) return false;
      op->byte = static_cast<uint8_t>(Number(t, s.substr(1), 255, "byte"));
      op->flags |= kFlagHasByte;
      return true;
    case ArgKind::kCategories:
    case ArgKind::kNumber: {
      std::string prefix = std::string(spec.word) + "=";
      if (!s.starts_with(prefix)) return false;
      s.remove_prefix(prefix.size());
      ScanFieldRef(*op, spec.bit) = spec.kind == ArgKind::kCategories
                                        ? ParseCategories(t, s)
                                        : Number(t, s, UINT32_MAX, spec.word);
      op->flags |= PresenceFlag(spec);
      return true;
    }
    case ArgKind::kFeatures:
    case ArgKind::kUffdFeatures:
    case ArgKind::kUffdModes: {
      int bit = IndexOf(ListNames(spec.kind), s);
      if (bit < 0) return false;
      ListField(spec.kind, op) |= 1u << bit;
      return true;
    }
    case ArgKind::kPage: case ArgKind::kFilePage: case ArgKind::kNpages: case ArgKind::kNewNpages:
    case ArgKind::kProt: case ArgKind::kBacking: case ArgKind::kSharing: case ArgKind::kAdvice:
    case ArgKind::kFile: case ArgKind::kClearRefsType: case ArgKind::kOnOff:
      break;
  }
  return false;
}

Op ParseOpTokens(const std::vector<Token>& tokens) {
  Op op;
  size_t i = 0;
  const Token& first = tokens[0];
  std::string_view name = first.text;
  if (name.size() >= 3 && name[0] == 'p' && name.back() == ':') {
    op.proc = static_cast<uint8_t>(
        Number(first, name.substr(1, name.size() - 2), kMaxProcs - 1, "process number"));
    if (++i == tokens.size()) throw LineError{first, "process prefix without an op"};
  }
  const Token& op_token = tokens[i];
  auto kind = OpKindByName(op_token.text);
  if (!kind) throw LineError{op_token, "unknown op"};
  op.kind = *kind;
  const OpInfo& info = GetOpInfo(op.kind);
  i++;
  for (const ArgSpec& spec : info.args) {
    if (!IsPositional(spec.kind)) continue;
    if (i >= tokens.size())
      throw LineError{tokens.back(), std::string("missing arguments for ") + info.name};
    ParsePositional(spec, tokens[i++], &op);
  }
  uint32_t seen = 0;  // bit per optional spec index
  for (; i < tokens.size(); i++) {
    bool matched = false;
    for (size_t s = 0; s < info.args.size() && !matched; s++) {
      const ArgSpec& spec = info.args[s];
      if (IsPositional(spec.kind)) continue;
      Op before = op;
      if (!ParseOptional(spec, tokens, &i, &op)) continue;
      matched = true;
      if (IsList(spec.kind)) {
        if (ListField(spec.kind, &before) == ListField(spec.kind, &op))
          throw LineError{tokens[i], "given twice"};
      } else if (seen & (1u << s)) {
        throw LineError{tokens[i], "given twice"};
      }
      seen |= 1u << s;
    }
    if (!matched) throw LineError{tokens[i], std::string("unknown argument for ") + info.name};
  }
  return op;
}

// The text's pagemap columns are the table's order (prog/result.h PagemapBits).
uint64_t PagemapCharBit(size_t pos) { return PagemapBits()[pos].bit; }
char PagemapLetter(size_t pos) { return PagemapBits()[pos].letter; }

void ParsePagemapToken(const Token& t, Result* r) {
  if (t.text.size() != 6 && t.text.size() != 7)
    throw LineError{t, "expected a pagemap entry of 6 letters PSFXWD (and G)"};
  uint64_t bits = 0, either = 0;
  for (size_t k = 0; k < t.text.size(); k++) {
    char c = t.text[k];
    if (c == PagemapLetter(k)) bits |= PagemapCharBit(k);
    else if (c == '?') either |= PagemapCharBit(k);
    else if (c != '-' || k == 6)
      throw LineError{t, std::string("pagemap letter ") + std::to_string(k + 1) + " must be '" +
                             PagemapLetter(k) + (k == 6 ? "' or '?'" : "', '-' or '?'")};
  }
  r->pagemap.push_back(bits);
  r->either.push_back(either);
}

ScanRegion ParseRegion(const Token& t) {
  std::string_view s = t.text;
  size_t comma = s.find(','), close = s.find("):");
  if (!s.starts_with('[') || comma == std::string_view::npos || close == std::string_view::npos ||
      comma > close)
    throw LineError{t, "expected a scan region [A,B):cats"};
  ScanRegion r;
  r.start = Number(t, s.substr(1, comma - 1), kArenaPages, "region start");
  r.end = Number(t, s.substr(comma + 1, close - comma - 1), kArenaPages, "region end");
  std::string_view cats = s.substr(close + 2);
  if (cats != "-") {
    for (char c : cats) {
      size_t bit = 0;
      while (bit < ScanCategoryLetters().size() && ScanCategoryLetters()[bit] != c) bit++;
      if (bit == ScanCategoryLetters().size() || (r.categories & (1u << bit)))
        throw LineError{t, "bad category letter '" + PrintableToken(std::string_view(&c, 1)) + "' (awfpszhdg)"};
      r.categories |= 1u << bit;
    }
  }
  return r;
}

Result ParseResultTokens(const Op& op, const std::vector<Token>& tokens, const Token& arrow) {
  Result r;
  if (tokens.empty()) {
    if (op.kind == OpKind::kPagemap && op.npages == 0) {
      r.kind = ResultKind::kPagemap;
      return r;
    }
    throw LineError{arrow, "'=>' without a result"};
  }
  size_t i = 1;
  std::string_view w = tokens[0].text;
  if (w == "ok") {
    r.kind = ResultKind::kOk;
  } else if (w == "hang") {
    r.kind = ResultKind::kHang;
  } else if (w == "lost") {
    r.kind = ResultKind::kLost;
  } else if (w == "err") {
    if (tokens.size() < 2) throw LineError{tokens[0], "'err' needs an errno name"};
    r.kind = ResultKind::kErr;
    r.err = ErrnoByName(tokens[1].text);
    if (r.err == 0) throw LineError{tokens[1], "unknown errno name"};
    i = 2;
  } else if (w == "fault") {
    if (tokens.size() < 2) throw LineError{tokens[0], "'fault' needs SEGV or BUS"};
    r.kind = ResultKind::kFault;
    if (tokens[1].text == "SEGV") r.signal = SIGSEGV;
    else if (tokens[1].text == "BUS") r.signal = SIGBUS;
    else throw LineError{tokens[1], "expected SEGV or BUS"};
    i = 2;
  } else if (w == "=") {
    if (tokens.size() < 2) throw LineError{tokens[0], "'=' needs a value"};
    r.kind = ResultKind::kValue;
    const Token& v = tokens[1];
    if (op.kind == OpKind::kFork) {
      if (!v.text.starts_with('p')) throw LineError{v, "fork's value is a process, pN"};
      r.value = Number(v, v.text.substr(1), kMaxProcs - 1, "process number");
    } else {
      r.value = Number(v, v.text, UINT32_MAX, "value");
    }
    i = 2;
    if (op.kind == OpKind::kScan) {
      r.is_scan = true;
      for (int64_t k = 0; k < r.value; k++, i++) {
        if (i >= tokens.size()) throw LineError{tokens.back(), "fewer scan regions than the count"};
        r.regions.push_back(ParseRegion(tokens[i]));
      }
      if (i >= tokens.size() || !tokens[i].text.starts_with("end="))
        throw LineError{i < tokens.size() ? tokens[i] : tokens.back(), "expected end=PAGE"};
      r.walk_end = Number(tokens[i], tokens[i].text.substr(4), kArenaPages, "walk_end");
      i++;
    }
  } else if (op.kind == OpKind::kPagemap) {
    r.kind = ResultKind::kPagemap;
    for (i = 0; i < tokens.size(); i++) ParsePagemapToken(tokens[i], &r);
    bool any_either = false;
    for (uint64_t e : r.either) any_either |= e != 0;
    if (!any_either) r.either.clear();  // an exact expectation compares equal to an observation
    if (r.pagemap.size() != op.npages)
      throw LineError{tokens.back(), "pagemap result has " + std::to_string(r.pagemap.size()) +
                                         " entries for " + std::to_string(op.npages) + " pages"};
    return r;
  } else {
    throw LineError{tokens[0], "unknown result"};
  }
  for (; i < tokens.size(); i++) {
    std::string_view f = tokens[i].text;
    if (f == "wpfault") r.uffd_faults |= kFaultWp;
    else if (f == "missingfault") r.uffd_faults |= kFaultMissing;
    else if (f == "minorfault") r.uffd_faults |= kFaultMinor;
    else throw LineError{tokens[i], "unexpected token after the result"};
  }
  return r;
}

std::string ListWords(uint32_t mask, std::span<const char* const> names, const char* sep) {
  std::string out;
  for (size_t bit = 0; bit < names.size(); bit++) {
    if (!(mask & (1u << bit))) continue;
    if (!out.empty()) out += sep;
    out += names[bit];
  }
  return out;
}

std::string HexOr(uint32_t mask, std::span<const char* const> names) {
  if (mask >> names.size()) {
    char buf[16];
    snprintf(buf, sizeof buf, "0x%x", mask);
    return buf;
  }
  return ListWords(mask, names, ",");
}

// The length of the UTF-8 sequence at the start of `s`, 0 when it is not one
// (overlong forms, surrogates and code points past U+10FFFF included).
size_t Utf8Length(std::string_view s) {
  unsigned char c = static_cast<unsigned char>(s[0]);
  size_t n = c < 0x80 ? 1 : (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xe ? 3 : (c >> 3) == 0x1e ? 4 : 0;
  if (n == 0 || s.size() < n) return 0;
  uint32_t cp = n == 1 ? c : c & (0x7f >> n);
  for (size_t i = 1; i < n; i++) {
    unsigned char k = static_cast<unsigned char>(s[i]);
    if ((k & 0xc0) != 0x80) return 0;
    cp = cp << 6 | (k & 0x3f);
  }
  static const uint32_t kMin[] = {0, 0, 0x80, 0x800, 0x10000};
  if (cp < kMin[n] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return 0;
  return n;
}

// A program is text (docs/FORMAT.md): UTF-8 (comments may say "§3.3") without
// control characters other than tab, CR and newline. Anything else (a NUL,
// /dev/urandom, a binary-encoded program) is refused at its first byte, so
// that no garbage reaches a message or the terminal.
std::optional<TextError> NotText(std::string_view text, std::string_view filename) {
  int line = 1;
  size_t line_start = 0;
  for (size_t i = 0; i < text.size();) {
    unsigned char c = static_cast<unsigned char>(text[i]);
    size_t n = Utf8Length(text.substr(i));
    bool control = c < 0x20 ? c != '\t' && c != '\n' && c != '\r' : c == 0x7f;
    if (n == 0 || control) {
      std::string what = c == 0 ? "a NUL byte" : control ? "a control character" : "a byte that is not UTF-8";
      return TextError{std::string(filename), line, static_cast<int>(i - line_start) + 1,
                       std::string(text.substr(i, 1)), "not a text program: " + what};
    }
    if (c == '\n') line++, line_start = i + 1;
    i += n;
  }
  return std::nullopt;
}

}  // namespace

std::string PrintableToken(std::string_view s, size_t max) {
  std::string out;
  for (size_t i = 0; i < s.size() && i < max; i++) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    if (c >= 0x20 && c < 0x7f) {
      out += static_cast<char>(c);
    } else {
      char buf[8];
      snprintf(buf, sizeof buf, "\\x%02x", c);
      out += buf;
    }
  }
  if (s.size() > max) out += "...";
  return out;
}

std::string TextError::ToString() const {
  // The file name and message may carry the input's bytes too: every part is
  // made printable, so that the error stays one readable line.
  std::string name = PrintableToken(file, 4096), what = PrintableToken(message, 4096);
  if (line == 0) return name + ": " + what;  // the file as a whole (cannot open it)
  std::string out = name + ":" + std::to_string(line) + ":" + std::to_string(column) + ": " + what;
  if (!token.empty()) out += ": '" + PrintableToken(token) + "'";
  return out;
}

bool ParseProgram(std::string_view text, std::string_view filename, Program* out, TextError* err) {
  *out = Program{};
  if (auto bad = NotText(text, filename)) {
    *err = *bad;
    return false;
  }
  if (text.size() > kMaxProgramBytes) {
    *err = TextError{std::string(filename), 0, 0, "", "larger than " + std::to_string(kMaxProgramBytes >> 20) +
                                                          " MiB: not a program"};
    return false;
  }
  int line_no = 0;
  while (!text.empty() || line_no == 0) {
    line_no++;
    size_t nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text = nl == std::string_view::npos ? std::string_view{} : text.substr(nl + 1);
    size_t hash = line.find('#');
    if (hash != std::string_view::npos) line = line.substr(0, hash);
    std::vector<Token> tokens = Tokenize(line);
    try {
      if (!tokens.empty()) {
        size_t arrow = 0;
        while (arrow < tokens.size() && tokens[arrow].text != "=>") arrow++;
        if (arrow == 0) throw LineError{tokens[0], "'=>' before an op"};
        std::vector<Token> op_tokens(tokens.begin(), tokens.begin() + arrow);
        Op op = ParseOpTokens(op_tokens);
        Result expect;
        if (arrow < tokens.size()) {
          std::vector<Token> result_tokens(tokens.begin() + arrow + 1, tokens.end());
          expect = ParseResultTokens(op, result_tokens, tokens[arrow]);
        }
        if (out->ops.size() == kMaxOps) throw LineError{tokens[0], "more than 4096 ops"};
        out->Add(op, expect, line_no);
      }
    } catch (const LineError& e) {
      *err = TextError{std::string(filename), line_no, e.token.column, std::string(e.token.text),
                       e.message};
      return false;
    }
    if (nl == std::string_view::npos) break;
  }
  if (auto bad = Validate(*out)) {
    bool known = bad->op_index < out->lines.size();
    *err = TextError{std::string(filename), known ? out->lines[bad->op_index] : 1, 1,
                     known ? PrintOp(out->ops[bad->op_index]) : "", bad->message};
    return false;
  }
  return true;
}

bool ParseProgramFile(const std::string& path, Program* out, TextError* err) {
  auto fail = [&](const std::string& message) {
    *err = TextError{path, 0, 0, "", message};
    return false;
  };
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return fail(std::string("cannot open: ") + strerror(errno));
  struct stat st;
  bool stat_ok = fstat(fd, &st) == 0;
  if (stat_ok && S_ISDIR(st.st_mode)) {
    close(fd);
    return fail("is a directory, not a program (mmdiff check DIR runs its .mmp files)");
  }
  // At most one byte past the cap, whatever the file is: a pipe that never
  // ends, /dev/zero or /dev/urandom cost 16 MiB and a few milliseconds.
  std::string text;
  if (stat_ok && S_ISREG(st.st_mode)) text.reserve(std::min<size_t>(st.st_size, kMaxProgramBytes) + 1);
  char chunk[65536];  // a stream's size is unknown: grow as it comes
  while (text.size() <= kMaxProgramBytes) {
    ssize_t n = read(fd, chunk, std::min(sizeof chunk, kMaxProgramBytes + 1 - text.size()));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      int e = errno;
      close(fd);
      return fail(std::string("cannot read: ") + strerror(e));
    }
    if (n == 0) break;
    text.append(chunk, static_cast<size_t>(n));
  }
  close(fd);
  if (!ParseProgram(text, path, out, err)) return false;
  if (out->ops.empty())
    return fail(text.empty() ? "empty file: a program needs at least one op"
                          : "no ops (only comments or blank lines): a program needs at least one op");
  return true;
}

std::string PrintOp(const Op& op) {
  const OpInfo& info = GetOpInfo(op.kind);
  std::string out;
  if (op.proc != 0) out = "p" + std::to_string(op.proc) + ": ";
  out += info.name;
  auto arg = [&out](const std::string& s) {
    if (!s.empty()) out += " " + s;
  };
  for (const ArgSpec& spec : info.args) {
    switch (spec.kind) {
      case ArgKind::kPage: case ArgKind::kFilePage: arg(std::to_string(op.page)); break;
      case ArgKind::kNpages: arg(std::to_string(op.npages)); break;
      case ArgKind::kNewNpages: arg(std::to_string(op.new_npages)); break;
      case ArgKind::kProt: arg(ProtNames()[static_cast<int>(op.prot)]); break;
      case ArgKind::kBacking:
        if (op.backing == Backing::kAnon) arg("anon");
        else arg(std::string(op.backing == Backing::kMemfd ? "memfd:" : "file:") +
                 std::to_string(op.file) + "+" + std::to_string(op.file_pgoff));
        break;
      case ArgKind::kSharing: arg(op.shared ? "shared" : "private"); break;
      case ArgKind::kAdvice: arg(AdviceNames()[static_cast<int>(op.advice)]); break;
      case ArgKind::kFile: arg(std::to_string(op.file)); break;
      case ArgKind::kClearRefsType: arg(std::to_string(op.value)); break;
      case ArgKind::kOnOff: arg(op.flags & kFlagWpOn ? "on" : "off"); break;
      case ArgKind::kFlag: if (op.flags & spec.bit) arg(spec.word); break;
      case ArgKind::kMove:
        if (op.flags & kFlagMove) arg(std::string(spec.word) + " " + std::to_string(op.new_page));
        break;
      case ArgKind::kOffset:
        if (op.flags & kFlagHasOffset) arg("+" + std::to_string(op.offset));
        break;
      case ArgKind::kByte:
        if (op.flags & kFlagHasByte) arg("=" + std::to_string(op.byte));
        break;
      case ArgKind::kCategories: {
        uint32_t v = ScanFieldValue(op, spec.bit);
        uint32_t presence = PresenceFlag(spec);
        if (presence ? (op.flags & presence) : v != 0) {
          std::string list = HexOr(v, ScanCategoryNames());
          arg(std::string(spec.word) + "=" + (list.empty() ? "0x0" : list));
        }
        break;
      }
      case ArgKind::kNumber: {
        uint32_t v = ScanFieldValue(op, spec.bit);
        uint32_t presence = PresenceFlag(spec);
        if (presence ? (op.flags & presence) : v != 0)
          arg(std::string(spec.word) + "=" + std::to_string(v));
        break;
      }
      case ArgKind::kFeatures: arg(ListWords(op.required_features, FeatureNames(), " ")); break;
      case ArgKind::kUffdFeatures: arg(ListWords(op.uffd_features, UffdFeatureNames(), " ")); break;
      case ArgKind::kUffdModes: arg(ListWords(op.uffd_modes, UffdModeNames(), " ")); break;
    }
  }
  return out;
}

std::string PagemapToken(uint64_t entry, uint64_t either) {
  std::string out;
  for (size_t k = 0; k < 6; k++) {
    uint64_t bit = PagemapCharBit(k);
    out += (either & bit) ? '?' : (entry & bit) ? PagemapLetter(k) : '-';
  }
  if (either & kPmGuardRegion) out += '?';
  else if (entry & kPmGuardRegion) out += 'G';
  return out;
}

std::string CategoriesToLetters(uint32_t cats) {
  std::string out;
  for (size_t bit = 0; bit < ScanCategoryLetters().size(); bit++)
    if (cats & (1u << bit)) out += ScanCategoryLetters()[bit];
  return out.empty() ? "-" : out;
}

std::string CategoryList(uint32_t cats) { return HexOr(cats, ScanCategoryNames()); }
std::string FeatureList(uint32_t features) { return ListWords(features, FeatureNames(), " "); }

std::string PrintResult(const Op& op, const Result& r, bool raw) {
  std::string out;
  switch (r.kind) {
    case ResultKind::kNone: return "";
    case ResultKind::kOk: out = "ok"; break;
    case ResultKind::kHang: out = "hang"; break;
    case ResultKind::kLost: out = "lost"; break;
    case ResultKind::kErr: out = "err " + ErrnoName(r.err); break;
    case ResultKind::kFault: out = r.signal == SIGBUS ? "fault BUS" : "fault SEGV"; break;
    case ResultKind::kValue: {
      char buf[32];
      if (op.kind == OpKind::kRead) snprintf(buf, sizeof buf, "= 0x%02" PRIx64, static_cast<uint64_t>(r.value));
      else if (op.kind == OpKind::kFork) snprintf(buf, sizeof buf, "= p%" PRId64, r.value);
      else snprintf(buf, sizeof buf, "= %" PRId64, r.value);
      out = buf;
      if (r.is_scan) {
        for (const ScanRegion& reg : r.regions)
          out += " [" + std::to_string(reg.start) + "," + std::to_string(reg.end) +
                 "):" + CategoriesToLetters(reg.categories);
        out += " end=" + std::to_string(r.walk_end);
      }
      break;
    }
    case ResultKind::kPagemap: {
      for (size_t k = 0; k < r.pagemap.size(); k++) {
        if (k) out += ' ';
        out += PagemapToken(r.pagemap[k], k < r.either.size() ? r.either[k] : 0);
      }
      if (raw && !r.pagemap.empty()) {
        out += "  # raw";
        char buf[24];
        for (uint64_t w : r.pagemap) {
          snprintf(buf, sizeof buf, " 0x%016" PRIx64, w);
          out += buf;
        }
      }
      return out;
    }
  }
  if (r.uffd_faults & kFaultMissing) out += " missingfault";
  if (r.uffd_faults & kFaultMinor) out += " minorfault";
  if (r.uffd_faults & kFaultWp) out += " wpfault";
  return out;
}

std::string PrintProgram(const Program& prog) {
  std::string out;
  for (size_t i = 0; i < prog.ops.size(); i++) {
    out += PrintOp(prog.ops[i]);
    if (i < prog.expect.size() && prog.expect[i].kind != ResultKind::kNone)
      out += " => " + PrintResult(prog.ops[i], prog.expect[i]);
    out += '\n';
  }
  return out;
}

std::string ErrnoName(int err) {
  const char* name = strerrorname_np(err);
  return name ? name : "E" + std::to_string(err);
}

int ErrnoByName(std::string_view name) {
  for (int e = 1; e < 200; e++) {
    const char* n = strerrorname_np(e);
    if (n && name == n) return e;
  }
  if (name.size() > 1 && name[0] == 'E') {
    uint64_t v;
    if (ParseU64(name.substr(1), &v) && v > 0 && v < 4096) return static_cast<int>(v);
  }
  return 0;
}

}  // namespace mmdiff
