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

}  // namespace mmdiff::repro_detail
