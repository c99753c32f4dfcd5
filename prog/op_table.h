// The one table of ops. The parser, printer, binary codec and generator walk
// an op's ArgSpecs; the model and executor switch over OpKind (no default, so a
// new op that one of them does not handle fails to compile).
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string_view>

#include "prog/op.h"

namespace mmdiff {

enum class ArgKind : uint8_t {
  // Positional, required, in table order.
  kPage,           // op.page: an arena page
  kFilePage,       // op.page: a page of file op.file
  kNpages,         // op.npages
  kNewNpages,      // op.new_npages
  kProt,           // op.prot
  kBacking,        // op.backing, op.file, op.file_pgoff: anon | memfd:F+OFF | file:F+OFF
  kSharing,        // op.shared: private | shared
  kAdvice,         // op.advice
  kFile,           // op.file
  kClearRefsType,  // op.value (1-5)
  kOnOff,          // kFlagWpOn
  // Optional, any order, each at most once.
  kFlag,           // a word that sets `bit` in op.flags
  kMove,           // "move NEWPAGE": kFlagMove + op.new_page
  kOffset,         // "+OFF": kFlagHasOffset + op.offset
  kByte,           // "=BYTE": kFlagHasByte + op.byte
  kCategories,     // "word=C": a category list into the field named by `bit`
  kNumber,         // "word=N": a number into the field named by `bit`
  // A list of words, each once, to the end of the line.
  kFeatures,       // op.requires
  kUffdFeatures,   // op.uffd_features
  kUffdModes,      // op.uffd_modes
};

// Fields for kCategories / kNumber (ArgSpec::bit).
enum ScanField : uint32_t { kScanReq, kScanInv, kScanAny, kScanRet, kScanMax, kScanVec };

struct ArgSpec {
  ArgKind kind;
  const char* word = nullptr;  // kFlag/kMove/kCategories/kNumber: the keyword
  uint32_t bit = 0;            // kFlag: OpFlag; kCategories/kNumber: ScanField
};

// Which arena pages an op names (OpPages in prog/op_traits.h).
enum class OpPages : uint8_t {
  kNone,          // no arena page: requires, exit, file ops, uffd_open
  kOne,           // op.page: read, write
  kRange,         // [op.page, op.page + op.npages)
  kRangeAndDest,  // mremap: the old range and [dest, dest + op.new_npages)
  kAll,           // the whole address space: fork, clear_refs
};

// What an op is, beyond its syntax: read by the generator, mutator,
// minimizer, coverage, reproducer and reports instead of switches of their
// own (the model and the executor switch over OpKind: they say what it does).
enum OpTrait : uint8_t {
  kTraitObserves = 1u << 0,    // reads state only (pagemap; scan unless wp_matching)
  kTraitForks = 1u << 1,       // makes a process (the next number)
  kTraitFileOp = 1u << 2,      // works on a file slot, not on mappings
  kTraitUffdIoctl = 1u << 3,   // an ioctl on the process's userfaultfd
};

struct OpInfo {
  OpKind kind;
  const char* name;
  std::span<const ArgSpec> args;
  const char* summary;  // one line for --help and docs
  OpPages pages;        // the arena pages it names
  uint8_t traits;       // OpTrait bits
  const char* syscall;  // how a report names the call: "madvise", "ioctl(UFFDIO_WRITEPROTECT)"
};

const OpInfo& GetOpInfo(OpKind kind);
std::span<const OpInfo> AllOps();
std::optional<OpKind> OpKindByName(std::string_view name);
bool IsPositional(ArgKind kind);
bool IsList(ArgKind kind);

// Named values of the small enums and bit sets; index = enum value or bit number.
std::span<const char* const> ProtNames();
std::span<const char* const> AdviceNames();
std::span<const char* const> FeatureNames();
std::span<const char* const> UffdFeatureNames();
std::span<const char* const> UffdModeNames();          // bit order: missing wp minor
std::span<const char* const> ScanCategoryNames();
std::span<const char> ScanCategoryLetters();           // for results: "awfpszhdg"

// Field access for kCategories / kNumber specs.
uint32_t& ScanFieldRef(Op& op, uint32_t field);
uint32_t ScanFieldValue(const Op& op, uint32_t field);
// The flag that records an optional arg was given (0 if presence is the value itself).
uint32_t PresenceFlag(const ArgSpec& spec);

}  // namespace mmdiff
