// libFuzzer target of the two program parsers of prog/: the .mmp text parser
// and the binary codec. Both take untrusted bytes (a user's file, a fuzzer's
// input, the executor channel), so any input must give a program or an
// error, never a crash, a hang or a leak. Beyond that, what each accepts must
// survive its own round trip: print/encode it and read it back to the same
// program. Built with clang and -fsanitize=fuzzer,address by the engines'
// sub-build (fuzz/engines/CMakeLists.txt); run for 30 s by ctest
// (prog_parser_fuzz) from the seed corpus tests/prog/parser_corpus/.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string_view>

#include "prog/binary.h"
#include "prog/text.h"

namespace {

[[noreturn]] void Die(const char* what, const std::string& detail) {
  fprintf(stderr, "parser_fuzzer: %s\n%s\n", what, detail.c_str());
  abort();
}

void CheckText(std::string_view text) {
  mmdiff::Program p;
  mmdiff::TextError e;
  if (!mmdiff::ParseProgram(text, "fuzz.mmp", &p, &e)) {
    std::string line = e.ToString();
    for (char c : line)
      if (static_cast<unsigned char>(c) < 0x20 || static_cast<unsigned char>(c) >= 0x7f)
        Die("an error message that is not one printable line", line);
    return;
  }
  std::string printed = mmdiff::PrintProgram(p);
  mmdiff::Program again;
  if (!mmdiff::ParseProgram(printed, "printed.mmp", &again, &e)) Die("printed program does not parse", e.ToString());
  if (mmdiff::PrintProgram(again) != printed) Die("print/parse is not a fixed point", printed);
}

void CheckBinary(const uint8_t* data, size_t size) {
  mmdiff::Program p;
  if (!mmdiff::DecodeProgram({data, size}, &p)) return;
  std::vector<uint8_t> encoded = mmdiff::EncodeProgram(p);
  mmdiff::Program again;
  if (!mmdiff::DecodeProgram(encoded, &again)) Die("encoded program does not decode", mmdiff::PrintProgram(p));
  if (mmdiff::PrintProgram(again) != mmdiff::PrintProgram(p))
    Die("encode/decode changed the program", mmdiff::PrintProgram(p));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  CheckText({reinterpret_cast<const char*>(data), size});
  CheckBinary(data, size);
  return 0;
}
