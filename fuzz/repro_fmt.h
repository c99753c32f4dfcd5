// printf into a std::string, for the pieces of a reproducer (fuzz/repro_*.cc).
#pragma once

#include <cstdarg>
#include <cstdio>
#include <string>

namespace mmdiff::repro_detail {

// At most 1023 characters: a line of C, a reason, an op's syscall text.
inline std::string Fmt(const char* fmt, ...) __attribute__((format(printf, 1, 2)));
inline std::string Fmt(const char* fmt, ...) {
  char buf[1024];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(buf, sizeof buf, fmt, ap);
  va_end(ap);
  return buf;
}

// A C string literal (no trigraph: a '?' after a '?' is escaped); a newline
// becomes "\n", or a space when `one_line`.
inline std::string Quoted(const std::string& s, bool one_line = false) {
  std::string out = "\"";
  char prev = 0;
  for (char c : s) {
    if (c == '"' || c == '\\' || (c == '?' && prev == '?')) out += '\\';
    prev = c;
    if (c == '\n') out += one_line ? " " : "\\n";
    else out += c;
  }
  return out + "\"";
}

}  // namespace mmdiff::repro_detail
