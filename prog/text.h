// The .mmp text format (docs/FORMAT.md): parse and print programs and results.
//
// PrintProgram(p) parses back to p (round trip). Parsing never throws and
// never aborts: malformed input yields one TextError naming file, line, column
// and the offending token.
#pragma once

#include <string>
#include <string_view>

#include "prog/program.h"

namespace mmdiff {

struct TextError {
  std::string file;
  int line = 0;
  int column = 0;
  std::string token;
  std::string message;
  // "FILE:LINE:COL: MESSAGE: 'TOKEN'" (one line, greppable).
  std::string ToString() const;
};

// The largest program accepted, in bytes (16 MiB): room for kMaxOps ops with
// long expectations (a pagemap of the whole arena is 7 MiB), and a bound on
// what reading a program may cost. ParseProgramFile reads at most one byte
// more, so a stream or a device (/dev/zero, a pipe) is never slurped whole.
constexpr size_t kMaxProgramBytes = size_t{16} << 20;

// Refuses text that is larger than kMaxProgramBytes or not text: a NUL, a
// control character other than tab/CR/newline, bytes that are not UTF-8.
bool ParseProgram(std::string_view text, std::string_view filename, Program* out, TextError* err);
// Reads and parses a file; I/O errors, a directory and a program without ops
// are reported as a TextError at line 0.
bool ParseProgramFile(const std::string& path, Program* out, TextError* err);

// `s` made fit for a one-line message: at most `max` bytes of it, each
// non-printable byte as \xNN, "..." when cut.
std::string PrintableToken(std::string_view s, size_t max = 40);

std::string PrintOp(const Op& op);  // with its "pN: " prefix when N > 0
// The text after "=> ". `raw` appends the raw pagemap words as a comment.
std::string PrintResult(const Op& op, const Result& result, bool raw = false);
// One line per op, "=> RESULT" where an expectation is set.
std::string PrintProgram(const Program& prog);

std::string ErrnoName(int err);       // "EINVAL"; "E123" for an unknown number
int ErrnoByName(std::string_view name);  // 0 if unknown
std::string PagemapToken(uint64_t entry, uint64_t either = 0);  // "P--X--"
std::string CategoriesToLetters(uint32_t cats);                 // "wp"; "-" for none
std::string CategoryList(uint32_t cats);                        // "written,present"
std::string FeatureList(uint32_t features);                     // "soft_dirty uffd_wp"

}  // namespace mmdiff
