#include "prog/binary.h"

#include <algorithm>

#include "prog/op_table.h"

namespace mmdiff {

void ByteWriter::U64(uint64_t v) {
  while (v >= 0x80) {
    buf_.push_back(static_cast<uint8_t>(v | 0x80));
    v >>= 7;
  }
  buf_.push_back(static_cast<uint8_t>(v));
}

void ByteWriter::Str(const std::string& s) {
  U64(s.size());
  buf_.insert(buf_.end(), s.begin(), s.end());
}

bool ByteReader::U64(uint64_t* v) {
  uint64_t out = 0;
  for (int shift = 0; shift < 64; shift += 7) {
    if (pos_ >= data_.size()) return false;
    uint8_t b = data_[pos_++];
    out |= uint64_t{b & 0x7fu} << shift;
    if (!(b & 0x80)) {
      // One encoding per value: no padding zero byte, no bits beyond 64.
      if ((b == 0 && shift > 0) || (shift == 63 && b > 1)) return false;
      *v = out;
      return true;
    }
  }
  return false;
}

bool ByteReader::U32(uint32_t* v) {
  uint64_t x;
  if (!U64(&x) || x > UINT32_MAX) return false;
  *v = static_cast<uint32_t>(x);
  return true;
}

bool ByteReader::U8(uint8_t* v) {
  if (pos_ >= data_.size()) return false;
  *v = data_[pos_++];
  return true;
}

bool ByteReader::Str(std::string* s, size_t max) {
  uint64_t n;
  if (!U64(&n) || n > max || n > remaining()) return false;
  s->assign(reinterpret_cast<const char*>(data_.data() + pos_), n);
  pos_ += n;
  return true;
}

namespace {

// The fields one arg kind carries, in a fixed order; `w` or `r` is null.
template <typename F>
void VisitFields(const ArgSpec& spec, Op& op, F&& field) {
  switch (spec.kind) {
    case ArgKind::kPage: case ArgKind::kFilePage: field(op.page); break;
    case ArgKind::kNpages: field(op.npages); break;
    case ArgKind::kNewNpages: field(op.new_npages); break;
    case ArgKind::kProt: field(op.prot); break;
    case ArgKind::kBacking: field(op.backing); field(op.file); field(op.file_pgoff); break;
    case ArgKind::kSharing: field(op.shared); break;
    case ArgKind::kAdvice: field(op.advice); break;
    case ArgKind::kFile: field(op.file); break;
    case ArgKind::kClearRefsType: field(op.value); break;
    case ArgKind::kOnOff: case ArgKind::kFlag: break;  // in op.flags
    case ArgKind::kMove: field(op.new_page); break;
    case ArgKind::kOffset: field(op.offset); break;
    case ArgKind::kByte: field(op.byte); break;
    case ArgKind::kCategories: case ArgKind::kNumber: field(ScanFieldRef(op, spec.bit)); break;
    case ArgKind::kFeatures: field(op.required_features); break;
    case ArgKind::kUffdFeatures: field(op.uffd_features); break;
    case ArgKind::kUffdModes: field(op.uffd_modes); break;
  }
}

// The op.flags bits an op may carry: exactly what its row can set.
uint32_t AllowedFlags(const OpInfo& info) {
  uint32_t mask = 0;
  for (const ArgSpec& spec : info.args) {
    if (spec.kind == ArgKind::kOnOff) mask |= kFlagWpOn;
    mask |= PresenceFlag(spec);
  }
  return mask;
}

}  // namespace

std::vector<uint8_t> EncodeProgram(const Program& prog) {
  ByteWriter w;
  w.U64(prog.ops.size());
  for (const Op& const_op : prog.ops) {
    Op op = const_op;
    w.U8(static_cast<uint8_t>(op.kind));
    w.U8(op.proc);
    w.U64(op.flags);
    for (const ArgSpec& spec : GetOpInfo(op.kind).args)
      VisitFields(spec, op, [&w](auto& f) { w.U64(static_cast<uint64_t>(f)); });
  }
  return std::move(w.buffer());
}

bool DecodeProgram(std::span<const uint8_t> data, Program* out) {
  ByteReader r(data);
  *out = Program{};
  uint64_t n;
  if (!r.U64(&n) || n > kMaxOps || n > r.remaining()) return false;
  for (uint64_t i = 0; i < n; i++) {
    Op op;
    uint8_t kind;
    if (!r.U8(&kind) || kind >= kNumOpKinds || !r.U8(&op.proc) || !r.U32(&op.flags)) return false;
    op.kind = static_cast<OpKind>(kind);
    const OpInfo& info = GetOpInfo(op.kind);
    if (op.flags & ~AllowedFlags(info)) return false;
    bool ok = true;
    for (const ArgSpec& spec : info.args) {
      VisitFields(spec, op, [&](auto& f) {
        uint64_t v = 0;
        ok = ok && r.U64(&v);
        using T = std::remove_reference_t<decltype(f)>;
        if constexpr (std::is_same_v<T, bool>) {
          ok = ok && v <= 1;
        } else if constexpr (std::is_enum_v<T>) {
          ok = ok && v <= 255;
        } else {
          ok = ok && v <= static_cast<uint64_t>(static_cast<T>(~T{}));
        }
        f = static_cast<T>(v);
      });
    }
    if (!ok) return false;
    out->Add(op);
  }
  return r.done() && !Validate(*out);
}

namespace {

void EncodeRegions(const std::vector<ScanRegion>& regions, ByteWriter* w) {
  w->U64(regions.size());
  for (const ScanRegion& reg : regions) {
    w->U64(reg.start);
    w->U64(reg.end);
    w->U64(reg.categories);
  }
}

bool DecodeRegions(ByteReader* r, uint64_t max, std::vector<ScanRegion>* out) {
  uint64_t count;
  if (!r->U64(&count) || count > max) return false;
  out->resize(count);
  for (ScanRegion& reg : *out) {
    uint64_t cats;
    if (!r->U64(&reg.start) || !r->U64(&reg.end) || !r->U64(&cats) || cats > UINT32_MAX) return false;
    reg.categories = static_cast<uint32_t>(cats);
  }
  return true;
}

}  // namespace

void EncodeTrace(const Trace& trace, ByteWriter* w) {
  w->U64(trace.results.size());
  for (const Result& res : trace.results) {
    w->U8(static_cast<uint8_t>(res.kind));
    w->U8(res.uffd_faults);
    w->U64(static_cast<uint32_t>(res.err));
    w->U64(static_cast<uint32_t>(res.signal));
    w->U64(static_cast<uint64_t>(res.value));
    w->U8(res.is_scan);
    w->U64(res.pagemap.size());
    for (uint64_t e : res.pagemap) w->U64(e);
    EncodeRegions(res.regions, w);
    w->U64(res.walk_end);
    const CrossAnswer& c = res.cross;
    w->U8(c.kind);
    if (c.kind == CrossAnswer::kNone) continue;
    w->U64(static_cast<uint32_t>(c.err));
    w->U64(c.scan_ret);
    EncodeRegions(c.regions, w);
    w->U64(c.walk_end);
    w->U64(c.pagemap.size());
    for (uint64_t e : c.pagemap) w->U64(e);
    w->U8(c.resplit);
    EncodeRegions(c.whole, w);
    w->U64(c.whole_end);
    EncodeRegions(c.resumed, w);
    w->U64(c.resumed_end);
    w->U8(c.has_unfiltered);
    EncodeRegions(c.unfiltered, w);
    w->U64(c.unfiltered_end);
    w->U8(c.has_smaps);
    w->U64(c.smaps.size());
    for (const SmapsHuge& v : c.smaps) {
      w->U64(v.start);
      w->U64(v.end);
      w->U64(v.huge_pages);
    }
  }
  w->U8(static_cast<uint8_t>(trace.end));
  w->Str(trace.console);
  w->U64(trace.zero_pfn);
}

bool DecodeTrace(ByteReader* r, Trace* out) {
  *out = Trace{};
  uint64_t n;
  if (!r->U64(&n) || n > kMaxOps) return false;
  out->results.resize(n);
  for (Result& res : out->results) {
    uint8_t kind, is_scan;
    uint32_t err, sig;
    uint64_t value, count;
    if (!r->U8(&kind) || kind > static_cast<uint8_t>(ResultKind::kLost) || !r->U8(&res.uffd_faults) ||
        !r->U32(&err) || !r->U32(&sig) || !r->U64(&value) || !r->U8(&is_scan) || !r->U64(&count) ||
        count > kMaxObservedPages)
      return false;
    res.kind = static_cast<ResultKind>(kind);
    res.err = static_cast<int32_t>(err);
    res.signal = static_cast<int32_t>(sig);
    res.value = static_cast<int64_t>(value);
    res.is_scan = is_scan != 0;
    res.pagemap.resize(count);
    for (uint64_t& e : res.pagemap)
      if (!r->U64(&e)) return false;
    if (!DecodeRegions(r, kMaxObservedPages, &res.regions) || !r->U64(&res.walk_end)) return false;
    CrossAnswer& c = res.cross;
    uint8_t cross_kind, resplit;
    uint64_t ret;
    if (!r->U8(&cross_kind) || cross_kind > CrossAnswer::kFailed) return false;
    c.kind = static_cast<CrossAnswer::Kind>(cross_kind);
    if (c.kind == CrossAnswer::kNone) continue;
    if (!r->U32(&err) || !r->U64(&ret) || ret > UINT32_MAX ||
        !DecodeRegions(r, kMaxObservedPages, &c.regions) || !r->U64(&c.walk_end) || !r->U64(&count) ||
        count > kMaxObservedPages)
      return false;
    c.err = static_cast<int32_t>(err);
    c.scan_ret = static_cast<uint32_t>(ret);
    c.pagemap.resize(count);
    for (uint64_t& e : c.pagemap)
      if (!r->U64(&e)) return false;
    if (!r->U8(&resplit) || !DecodeRegions(r, kMaxObservedPages, &c.whole) || !r->U64(&c.whole_end) ||
        !DecodeRegions(r, kMaxObservedPages, &c.resumed) || !r->U64(&c.resumed_end))
      return false;
    c.resplit = resplit != 0;
    uint8_t has_unfiltered, has_smaps;
    if (!r->U8(&has_unfiltered) || !DecodeRegions(r, kMaxObservedPages, &c.unfiltered) ||
        !r->U64(&c.unfiltered_end) || !r->U8(&has_smaps) || !r->U64(&count) || count > kMaxOps)
      return false;
    c.has_unfiltered = has_unfiltered != 0;
    c.has_smaps = has_smaps != 0;
    c.smaps.resize(count);
    for (SmapsHuge& v : c.smaps)
      if (!r->U64(&v.start) || !r->U64(&v.end) || !r->U64(&v.huge_pages)) return false;
  }
  uint8_t end;
  if (!r->U8(&end) || end > static_cast<uint8_t>(TraceEnd::kTimeLimit) || !r->Str(&out->console) ||
      !r->U64(&out->zero_pfn))
    return false;
  out->end = static_cast<TraceEnd>(end);
  return true;
}

// Sorted and distinct, so each is written as its distance from the one
// before (a varint): a few thousand features take about 2 bytes each.
void EncodeKernelCoverage(const std::vector<uint32_t>& features, ByteWriter* w) {
  size_t n = std::min<size_t>(features.size(), kMaxKernelCoverage);
  w->U64(n);
  uint32_t prev = 0;
  for (size_t i = 0; i < n; i++) {
    w->U64(features[i] - prev);
    prev = features[i];
  }
}

bool DecodeKernelCoverage(ByteReader* r, std::vector<uint32_t>* out) {
  uint64_t n;
  if (!r->U64(&n) || n > kMaxKernelCoverage || r->remaining() < n) return false;
  out->resize(n);
  uint64_t prev = 0;
  for (size_t i = 0; i < n; i++) {
    uint64_t d;
    // Strictly increasing: a zero distance (after the first) or a sum past
    // 32 bits is not what EncodeKernelCoverage writes.
    if (!r->U64(&d) || (i > 0 && d == 0) || prev + d > UINT32_MAX) return false;
    prev += d;
    (*out)[i] = static_cast<uint32_t>(prev);
  }
  return true;
}

}  // namespace mmdiff
