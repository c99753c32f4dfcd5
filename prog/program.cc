#include "prog/program.h"

#include "prog/op_table.h"
#include "prog/op_traits.h"

namespace mmdiff {
namespace {

bool RangeInArena(uint64_t page, uint64_t npages) { return page + npages <= kArenaPages; }

std::optional<std::string> CheckOp(const Op& op) {
  if (static_cast<int>(op.kind) >= kNumOpKinds) return "unknown op kind";
  if (static_cast<int>(op.prot) > static_cast<int>(Prot::kRWX)) return "bad prot";
  if (static_cast<int>(op.backing) > static_cast<int>(Backing::kFile)) return "bad backing";
  if (static_cast<int>(op.advice) >= kNumAdvice) return "bad advice";
  if (op.file >= kMaxFiles) return "file slot out of range (0-7)";
  if (op.offset >= kPageSize) return "offset out of the page (0-4095)";
  for (const ArgSpec& spec : GetOpInfo(op.kind).args) {
    switch (spec.kind) {
      case ArgKind::kPage:
        if (op.page >= kArenaPages) return "page outside the arena";
        break;
      case ArgKind::kFilePage:
        if (op.page >= kMaxFilePages) return "file page beyond the largest file";
        break;
      case ArgKind::kNpages:
        if (HasTrait(op.kind, kTraitFileOp)) {  // N counts file pages
          if (op.npages > kMaxFilePages) return "file size beyond the largest file";
        } else if (!RangeInArena(op.page, op.npages)) {
          return "range outside the arena";
        }
        if (op.kind == OpKind::kPagemap && op.npages > kMaxObservedPages)
          return "pagemap of more than 4096 pages";
        break;
      case ArgKind::kNewNpages:
        if (!RangeInArena((op.flags & kFlagMove) ? op.new_page : op.page, op.new_npages))
          return "new range outside the arena";
        break;
      case ArgKind::kBacking:
        if (op.file_pgoff >= kMaxFilePages) return "file offset beyond the largest file";
        // The text of an anonymous mapping has no slot and no offset, so a
        // program that carries them would run other than it reads (an
        // anonymous MAP_HUGETLB passes the offset to hugetlbfs, which
        // refuses an unaligned one with EINVAL: found as a campaign-only
        // divergence whose program.mmp never reproduced).
        if (op.backing == Backing::kAnon && (op.file != 0 || op.file_pgoff != 0))
          return "anonymous mapping with a file slot or offset";
        break;
      case ArgKind::kClearRefsType:
        if (op.value < 1 || op.value > 5) return "clear_refs type out of range (1-5)";
        break;
      case ArgKind::kNumber:
        if (spec.bit == kScanVec && op.scan_vec > kMaxObservedPages) return "vec= above 4096";
        if (PresenceFlag(spec) && !(op.flags & PresenceFlag(spec)) && ScanFieldValue(op, spec.bit))
          return std::string("a value without its '") + spec.word + "='";
        break;
      case ArgKind::kCategories:
        // Unknown bits are allowed (the kernel's EINVAL is worth testing), within 16.
        if (ScanFieldValue(op, spec.bit) > 0xffff) return "category mask above 0xffff";
        if (PresenceFlag(spec) && !(op.flags & PresenceFlag(spec)) && ScanFieldValue(op, spec.bit))
          return std::string("a value without its '") + spec.word + "='";
        break;
      // An optional value its text would not show (its word absent) runs
      // other than the program reads: refused, like an anonymous mapping's
      // file offset above.
      case ArgKind::kOffset:
        if (!(op.flags & kFlagHasOffset) && op.offset) return "an offset without its '+OFF'";
        break;
      case ArgKind::kByte:
        if (!(op.flags & kFlagHasByte) && op.byte) return "a byte without its '=BYTE'";
        break;
      case ArgKind::kMove:
        if (!(op.flags & kFlagMove) && op.new_page) return "a new page without its 'move'";
        break;
      // Word lists: only bits that have a word.
      case ArgKind::kFeatures:
        if (op.required_features >> kNumFeatures) return "a feature bit without a name";
        break;
      case ArgKind::kUffdFeatures:
        if (op.uffd_features >> kNumUffdFeatures) return "a uffd feature bit without a name";
        break;
      case ArgKind::kUffdModes:
        if (op.uffd_modes >> UffdModeNames().size()) return "a uffd register mode bit without a name";
        break;
      case ArgKind::kFile: case ArgKind::kProt: case ArgKind::kSharing: case ArgKind::kAdvice:
      case ArgKind::kOnOff: case ArgKind::kFlag:
        break;
    }
  }
  return std::nullopt;
}

}  // namespace

uint32_t Program::Requires() const {
  uint32_t mask = 0;
  for (const Op& op : ops)
    if (op.kind == OpKind::kRequires) mask |= op.required_features;
  return mask;
}

int Program::NumProcs() const {
  int n = 1;
  for (const Op& op : ops)
    if (op.kind == OpKind::kFork) n++;
  return n;
}

std::optional<ProgramError> Validate(const Program& prog) {
  if (prog.ops.size() > kMaxOps) return ProgramError{kMaxOps, "more than 4096 ops"};
  if (prog.expect.size() != prog.ops.size()) return ProgramError{0, "expectations do not match ops"};
  bool alive[kMaxProcs] = {true};
  int nprocs = 1;
  for (size_t i = 0; i < prog.ops.size(); i++) {
    const Op& op = prog.ops[i];
    if (op.proc >= kMaxProcs || op.proc >= nprocs)
      return ProgramError{i, "p" + std::to_string(op.proc) + " has not been forked yet"};
    if (!alive[op.proc]) return ProgramError{i, "p" + std::to_string(op.proc) + " has exited"};
    if (auto err = CheckOp(op)) return ProgramError{i, *err};
    if (op.kind == OpKind::kFork) {
      if (nprocs == kMaxProcs) return ProgramError{i, "more than 16 processes"};
      alive[nprocs++] = true;
    }
    if (op.kind == OpKind::kExit) alive[op.proc] = false;
  }
  return std::nullopt;
}

}  // namespace mmdiff
