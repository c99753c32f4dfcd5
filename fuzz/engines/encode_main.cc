// mmdiff-encode: between the text format (.mmp) and the engines' input
// format (prog/binary.h).
//
//   mmdiff-encode -o DIR FILE.mmp...   each program as DIR/NAME.bin (a seed
//                                      corpus; expectations are not encoded)
//   mmdiff-encode -d FILE...           each binary program (a crash or queue
//                                      file) printed as text, for `mmdiff run`
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "prog/binary.h"
#include "prog/text.h"

namespace fs = std::filesystem;
using namespace mmdiff;

namespace {

int Usage() {
  std::fprintf(stderr,
               "usage: mmdiff-encode -o DIR FILE.mmp...   encode programs as DIR/NAME.bin\n"
               "       mmdiff-encode -d FILE...           print binary programs as text\n");
  return 2;
}

int Encode(const std::string& dir, const std::vector<std::string>& files) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) {
    std::fprintf(stderr, "mmdiff-encode: %s: %s\n", dir.c_str(), ec.message().c_str());
    return 1;
  }
  int bad = 0;
  for (const std::string& f : files) {
    Program p;
    TextError err;
    if (!ParseProgramFile(f, &p, &err)) {
      std::fprintf(stderr, "%s\n", err.ToString().c_str());
      bad++;
      continue;
    }
    std::vector<uint8_t> bytes = EncodeProgram(p);
    fs::path out = fs::path(dir) / (fs::path(f).stem().string() + ".bin");
    std::ofstream o(out, std::ios::binary | std::ios::trunc);
    o.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
    if (!o) {
      std::fprintf(stderr, "mmdiff-encode: cannot write %s\n", out.c_str());
      bad++;
    }
  }
  std::fprintf(stderr, "mmdiff-encode: %zu programs into %s\n", files.size() - bad, dir.c_str());
  return bad ? 1 : 0;
}

int Decode(const std::vector<std::string>& files) {
  int bad = 0;
  for (const std::string& f : files) {
    std::ifstream in(f, std::ios::binary);
    std::vector<uint8_t> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    Program p;
    if (!in.eof() && !in) {
      std::fprintf(stderr, "mmdiff-encode: cannot read %s\n", f.c_str());
      bad++;
      continue;
    }
    if (!DecodeProgram(bytes, &p)) {
      std::fprintf(stderr, "mmdiff-encode: %s: not a valid binary program\n", f.c_str());
      bad++;
      continue;
    }
    if (files.size() > 1) std::printf("# %s\n", f.c_str());
    std::fputs(PrintProgram(p).c_str(), stdout);
  }
  return bad ? 1 : 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3) return Usage();
  std::vector<std::string> args(argv + 1, argv + argc);
  if (args[0] == "-d") return Decode({args.begin() + 1, args.end()});
  if (args[0] == "-o" && args.size() >= 3) return Encode(args[1], {args.begin() + 2, args.end()});
  return Usage();
}
