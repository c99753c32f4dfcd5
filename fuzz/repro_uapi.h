// The uapi a reproducer (fuzz/repro.h) uses, spelled in C: the constants it
// #defines itself (those newer than the system's headers), and an op's
// flags, advice, modes and categories by their uapi names. Every speller takes the separator (" | " in the reproducer, "|" in
// SyscallText) and, when not null, collects the names it used into `uses`.
#pragma once

#include <cstdint>
#include <set>
#include <string>

#include "prog/op.h"

namespace mmdiff::repro_detail {

// "#ifndef NAME\n#define NAME VALUE /* FROM */\n#endif\n" for each
// constant in `uses` that Linux 6.1's uapi headers (the oldest a reproducer
// is built with) lack; "" for none. The PAGEMAP_SCAN ones are repro_clib.h's
// CScanUapi().
std::string NewerUapiDefines(const std::set<std::string>& uses);

const char* ProtC(Prot p);       // "PROT_READ | PROT_WRITE"
const char* AdviceC(Advice a);  // "MADV_DONTNEED"
std::string MmapFlagsC(const Op& op, const char* sep, std::set<std::string>* uses);
std::string MremapFlagsC(const Op& op, const char* sep, std::set<std::string>* uses);
// The UFFDIO_API features the executor asks for (executor/ops.cc UffdApiFeatures).
std::string UffdApiFeaturesC(uint32_t f, const char* sep, std::set<std::string>* uses);
std::string UffdModesC(uint32_t modes, const char* sep, std::set<std::string>* uses);
std::string ScanFlagsC(const Op& op, const char* sep, std::set<std::string>* uses);
std::string CategoriesC(uint32_t mask, const char* sep, std::set<std::string>* uses);
// PAGEMAP_SCAN's vec_len: vec= when given, else one region per page.
uint32_t ScanVecLen(const Op& op);

}  // namespace mmdiff::repro_detail
