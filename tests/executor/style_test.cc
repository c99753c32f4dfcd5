// Lint of the code that runs inside the processes under test (executor/proc.h):
// no heap allocation and no mappings of its own, since either can change the
// very page tables and VMAs a program measures. Like syzkaller's
// executor/style_test.go: a list of forbidden patterns, checked on the source
// with comments and string literals removed. Uses that exist today are
// allowed by count (the program's own mmap/munmap/mremap in ops.cc); a new
// one fails with its file:line.
#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>
#include <fstream>
#include <map>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

namespace {

const char* const kFiles[] = {"executor/proc.cc", "executor/ops.cc", "executor/smaps.cc", "executor/uffd_handler.cc",
                               "executor/kcov.cc"};

struct Rule {
  const char* name;
  const char* regex;
};

const Rule kRules[] = {
    // Heap allocation.
    {"malloc", R"(\bmalloc\s*\()"},
    {"calloc", R"(\bcalloc\s*\()"},
    {"realloc", R"(\breallocf?\s*\()"},
    {"free(", R"(\bfree\s*\()"},
    {"new", R"(\bnew\b)"},
    {"delete", R"(\bdelete\b)"},
    {"strdup", R"(\bstrn?dup[a]?\s*\()"},
    {"asprintf", R"(\bv?asprintf\s*\()"},
    {"std::vector", R"(\bstd::vector\b)"},
    {"std::string", R"(\bstd::(basic_)?string\b)"},
    {"std::map", R"(\bstd::(unordered_)?(multi)?map\b)"},
    {"std::set/list/deque/function", R"(\bstd::(unordered_)?(multi)?(set|list|deque|function)\b)"},
    {"smart pointer", R"(\bstd::(unique_ptr|shared_ptr|make_unique|make_shared)\b)"},
    {"allocating header", R"(#\s*include\s*<(string|vector|map|unordered_map|set|list|deque|memory|functional)>)"},
    // Mappings of its own.
    {"mmap(", R"(\bmmap(64)?\s*\()"},
    {"munmap(", R"(\bmunmap\s*\()"},
    {"mremap(", R"(\bmremap\s*\()"},
    {"brk", R"(\bs?brk\s*\()"},
};

// The uses there are today: the program's own mmap call, the munmap op and
// the undo of a misplaced mmap, the mremap op; the kcov trace buffer of a
// process (kcov.cc: mapped before its first op, where the kernel places it,
// top-down far from the arena; unmapped by a fork's child).
const std::map<std::pair<std::string, std::string>, int> kAllowed = {
    {{"executor/kcov.cc", "mmap("}, 1},
    {{"executor/kcov.cc", "munmap("}, 1},
    {{"executor/ops.cc", "mmap("}, 1},
    {{"executor/ops.cc", "munmap("}, 2},
    {{"executor/ops.cc", "mremap("}, 1},
};

// Replaces comments and the contents of string and character literals with
// blanks, keeping newlines so line numbers stay right.
std::string StripCommentsAndStrings(const std::string& src) {
  std::string out = src;
  size_t i = 0, n = src.size();
  auto blank = [&](size_t from, size_t to) {
    for (size_t k = from; k < to && k < n; k++)
      if (out[k] != '\n') out[k] = ' ';
  };
  while (i < n) {
    if (src.compare(i, 2, "//") == 0) {
      size_t end = src.find('\n', i);
      if (end == std::string::npos) end = n;
      blank(i, end);
      i = end;
    } else if (src.compare(i, 2, "/*") == 0) {
      size_t end = src.find("*/", i + 2);
      end = end == std::string::npos ? n : end + 2;
      blank(i, end);
      i = end;
    } else if (src[i] == 'R' && i + 1 < n && src[i + 1] == '"' &&
               (i == 0 || !(isalnum(static_cast<unsigned char>(src[i - 1])) || src[i - 1] == '_'))) {
      size_t paren = src.find('(', i + 2);
      if (paren == std::string::npos) break;
      std::string close = ")" + src.substr(i + 2, paren - i - 2) + "\"";
      size_t end = src.find(close, paren);
      end = end == std::string::npos ? n : end + close.size();
      blank(i + 2, end - 1);
      i = end;
    } else if (src[i] == '"' || src[i] == '\'') {
      char q = src[i];
      size_t k = i + 1;
      while (k < n && src[k] != q && src[k] != '\n') k += src[k] == '\\' ? 2 : 1;
      blank(i + 1, k);
      i = k + 1;
    } else {
      i++;
    }
  }
  return out;
}

struct Hit {
  int line;
  std::string text;
};

std::vector<Hit> Find(const std::string& stripped, const std::string& original, const Rule& rule) {
  std::vector<Hit> hits;
  std::regex re(rule.regex);
  for (auto it = std::sregex_iterator(stripped.begin(), stripped.end(), re); it != std::sregex_iterator(); ++it) {
    size_t pos = it->position(0);
    int line = 1 + static_cast<int>(std::count(stripped.begin(), stripped.begin() + pos, '\n'));
    size_t bol = original.rfind('\n', pos);
    bol = bol == std::string::npos ? 0 : bol + 1;
    size_t eol = original.find('\n', pos);
    hits.push_back({line, original.substr(bol, eol == std::string::npos ? std::string::npos : eol - bol)});
  }
  return hits;
}

std::string ReadSource(const std::string& rel) {
  std::ifstream in(std::string(MMDIFF_SOURCE_DIR) + "/" + rel);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

TEST(ExecutorStyle, ProcessUnderTestDoesNotAllocate) {
  for (const char* file : kFiles) {
    std::string src = ReadSource(file);
    ASSERT_FALSE(src.empty()) << "cannot read " << MMDIFF_SOURCE_DIR << "/" << file;
    std::string stripped = StripCommentsAndStrings(src);
    for (const Rule& rule : kRules) {
      std::vector<Hit> hits = Find(stripped, src, rule);
      auto allowed = kAllowed.find({file, rule.name});
      size_t limit = allowed == kAllowed.end() ? 0 : allowed->second;
      if (hits.size() <= limit) continue;
      std::string where;
      for (const Hit& h : hits) where += "\n  " + std::string(file) + ":" + std::to_string(h.line) + ": " + h.text;
      ADD_FAILURE() << file << ": " << hits.size() << " use(s) of " << rule.name << ", " << limit
                    << " allowed (processes under test must not allocate or map; see executor/proc.h):"
                    << where;
    }
  }
}

// The lint itself: comments and strings do not count, code does.
TEST(ExecutorStyle, LintSeesCodeNotCommentsOrStrings) {
  std::string src =
      "// malloc(1) in a comment\n"
      "/* std::vector<int> v; new int */\n"
      "const char* s = \"free(p) mmap(\";\n"
      "char c = '\"'; const char* r = R\"x(new std::string)x\";\n"
      "int* q = new int;\n"
      "void* m = mmap (0, 4096, 3, 0x22, -1, 0);\n"
      "munmap(m, 4096); std::vector<char> buf;\n";
  std::string stripped = StripCommentsAndStrings(src);
  auto count = [&](const char* name) {
    for (const Rule& rule : kRules)
      if (std::string(rule.name) == name) return Find(stripped, src, rule).size();
    ADD_FAILURE() << "no rule " << name;
    return size_t{0};
  };
  EXPECT_EQ(count("malloc"), 0u);
  EXPECT_EQ(count("free("), 0u);
  EXPECT_EQ(count("std::string"), 0u);
  EXPECT_EQ(count("new"), 1u);
  EXPECT_EQ(count("mmap("), 1u);  // munmap( is not mmap(
  EXPECT_EQ(count("munmap("), 1u);
  EXPECT_EQ(count("std::vector"), 1u);
  std::vector<Hit> hits = Find(stripped, src, kRules[4]);  // "new"
  ASSERT_EQ(hits.size(), 1u);
  EXPECT_EQ(hits[0].line, 5);
  EXPECT_EQ(hits[0].text, "int* q = new int;");
}

}  // namespace
