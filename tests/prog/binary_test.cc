// Tests of the binary codec (programs, traces, kernel features).
#include <gtest/gtest.h>

#include <cerrno>
#include <csignal>
#include <random>
#include <vector>

#include "prog/binary.h"
#include "prog/features.h"
#include "prog/op_table.h"
#include "prog/text.h"
#include "tests/prog/test_programs.h"

namespace mmdiff {
namespace {

Program Parse(std::string_view text) {
  Program p;
  TextError e;
  EXPECT_TRUE(ParseProgram(text, "t", &p, &e)) << e.ToString();
  return p;
}

// Every round-trip program plus one program that holds all of them (in one process).
std::vector<Program> AllPrograms() {
  std::vector<Program> out;
  Program all;
  for (const RoundTripCase& c : kRoundTripCases) {
    out.push_back(Parse(c.text));
    for (const Op& op : out.back().ops)
      if (op.proc == 0 && op.kind != OpKind::kFork && op.kind != OpKind::kExit) all.Add(op);
  }
  out.push_back(all);
  out.push_back(Program{});
  return out;
}

// Checks the decoder's contract on one input: when it accepts, the program is
// valid and re-encodes to the same bytes.
void CheckDecode(std::span<const uint8_t> data) {
  Program p;
  if (!DecodeProgram(data, &p)) return;
  ASSERT_FALSE(Validate(p).has_value()) << Validate(p)->message;
  std::vector<uint8_t> again = EncodeProgram(p);
  ASSERT_EQ(again, std::vector<uint8_t>(data.begin(), data.end()));
  // A decoded program also survives the text format, op for op: its text is
  // what runs (an anonymous mapping once carried a hidden file offset).
  Program q;
  TextError e;
  ASSERT_TRUE(ParseProgram(PrintProgram(p), "t", &q, &e)) << e.ToString();
  ASSERT_EQ(q.ops.size(), p.ops.size());
  for (size_t i = 0; i < p.ops.size(); i++) {
    if (q.ops[i] == p.ops[i]) continue;
    const Op& a = p.ops[i];
    FAIL() << "op " << i << " '" << PrintOp(a) << "' reads other than it runs (fields: file " << int(a.file)
           << " pgoff " << a.file_pgoff << " byte " << int(a.byte) << " offset " << a.offset << " new_page "
           << a.new_page << " value " << a.value << " flags " << a.flags << " features " << a.required_features
           << " uffd " << a.uffd_features << "/" << a.uffd_modes << " scan " << a.scan_req << "," << a.scan_inv
           << "," << a.scan_any << "," << a.scan_ret << "," << a.scan_max << "," << a.scan_vec << ")";
  }
}

// An anonymous mapping with a file slot or offset reads other than it runs:
// invalid, so no decoder, generator or mutator can hand one to the executor.
TEST(ProgramCodec, AnonymousMappingCarriesNoFileOffset) {
  Program p = Parse("mmap 0 12 rw anon private hugetlb\n");
  EXPECT_FALSE(Validate(p).has_value());
  p.ops[0].file_pgoff = 3;
  ASSERT_TRUE(Validate(p).has_value());
  EXPECT_EQ(Validate(p)->message, "anonymous mapping with a file slot or offset");
  Program q;
  EXPECT_FALSE(DecodeProgram(EncodeProgram(p), &q));
  p.ops[0].file_pgoff = 0;
  p.ops[0].file = 2;
  EXPECT_TRUE(Validate(p).has_value());
}

class ProgramCodec : public testing::TestWithParam<RoundTripCase> {};

TEST_P(ProgramCodec, RoundTrip) {
  Program p = Parse(GetParam().text);
  std::vector<uint8_t> bytes = EncodeProgram(p);
  Program q;
  ASSERT_TRUE(DecodeProgram(bytes, &q));
  EXPECT_EQ(q.ops, p.ops);
  EXPECT_EQ(q.expect.size(), q.ops.size());
  for (const Result& r : q.expect) EXPECT_EQ(r.kind, ResultKind::kNone);
  EXPECT_EQ(EncodeProgram(q), bytes);
  EXPECT_EQ(PrintProgram(q), PrintProgram(p));
}

TEST_P(ProgramCodec, EveryTruncationFails) {
  Program p = Parse(GetParam().text);
  std::vector<uint8_t> bytes = EncodeProgram(p);
  for (size_t n = 0; n < bytes.size(); n++) {
    Program q;
    EXPECT_FALSE(DecodeProgram(std::span(bytes).first(n), &q)) << n;
  }
  // Trailing garbage is rejected too.
  bytes.push_back(0);
  Program q;
  EXPECT_FALSE(DecodeProgram(bytes, &q));
}

INSTANTIATE_TEST_SUITE_P(AllOps, ProgramCodec, testing::ValuesIn(kRoundTripCases));

TEST(ProgramCodec, AllOpsInOneProgram) {
  std::vector<Program> progs = AllPrograms();
  const Program& all = progs[progs.size() - 2];
  std::vector<uint8_t> bytes = EncodeProgram(all);
  Program q;
  ASSERT_TRUE(DecodeProgram(bytes, &q));
  EXPECT_EQ(q.ops, all.ops);
  for (size_t n = 0; n < bytes.size(); n++) CheckDecode(std::span(bytes).first(n));
}

TEST(ProgramCodec, Empty) {
  std::vector<uint8_t> bytes = EncodeProgram(Program{});
  EXPECT_EQ(bytes, std::vector<uint8_t>{0});
  Program q;
  q.Add(Op{});
  ASSERT_TRUE(DecodeProgram(bytes, &q));
  EXPECT_TRUE(q.ops.empty());
  EXPECT_FALSE(DecodeProgram({}, &q));
}

TEST(ProgramCodec, RejectsInvalidPrograms) {
  auto encode = [](std::string_view text) { return EncodeProgram(Parse(text)); };
  Program q;
  // An op of an unforked process.
  std::vector<uint8_t> b = encode("fork\np1: write 0");
  ASSERT_TRUE(DecodeProgram(b, &q));
  b = encode("write 0");
  b[2] = 1;  // proc
  EXPECT_FALSE(DecodeProgram(b, &q));
  // Unknown op kind.
  b = encode("fork");
  b[1] = kNumOpKinds;
  EXPECT_FALSE(DecodeProgram(b, &q));
  // A flag the op does not take.
  b = encode("fork");
  b[3] = kFlagPopulate;
  EXPECT_FALSE(DecodeProgram(b, &q));
  // clear_refs type 0 and 6.
  b = encode("clear_refs 5");
  ASSERT_EQ(b.back(), 5);
  b.back() = 0;
  EXPECT_FALSE(DecodeProgram(b, &q));
  b.back() = 6;
  EXPECT_FALSE(DecodeProgram(b, &q));
  // A bool that is not 0/1 (mmap's sharing).
  b = encode("mmap 0 1 rw anon shared");
  // kind proc flags page npages prot backing file pgoff shared
  ASSERT_EQ(b.size(), 11u);
  ASSERT_EQ(b[10], 1);
  b[10] = 2;
  EXPECT_FALSE(DecodeProgram(b, &q));
  // prot beyond rwx, backing beyond file, file slot 8.
  b = encode("mmap 0 1 rw anon shared");
  b[6] = static_cast<uint8_t>(Prot::kRWX) + 1;
  EXPECT_FALSE(DecodeProgram(b, &q));
  b = encode("mmap 0 1 rw anon shared");
  b[7] = static_cast<uint8_t>(Backing::kFile) + 1;
  EXPECT_FALSE(DecodeProgram(b, &q));
  b = encode("mmap 0 1 rw anon shared");
  b[8] = kMaxFiles;
  EXPECT_FALSE(DecodeProgram(b, &q));
  // An op count beyond the data.
  b = encode("fork");
  b[0] = 100;
  EXPECT_FALSE(DecodeProgram(b, &q));
}

TEST(ProgramCodec, MoreThanMaxOps) {
  Program p;
  Op op;
  op.kind = OpKind::kRead;
  for (uint32_t i = 0; i < kMaxOps; i++) p.Add(op);
  std::vector<uint8_t> bytes = EncodeProgram(p);
  Program q;
  ASSERT_TRUE(DecodeProgram(bytes, &q));
  EXPECT_EQ(q.ops.size(), kMaxOps);
  p.Add(op);
  EXPECT_FALSE(DecodeProgram(EncodeProgram(p), &q));
}

// Varints have one encoding: a decoded program re-encodes to its bytes.
TEST(ProgramCodec, RejectsNonCanonicalVarints) {
  Program q;
  // "fork" with flags 0 written as 0x80 0x00.
  const std::vector<uint8_t> padded_flags = {1, static_cast<uint8_t>(OpKind::kFork), 0, 0x80, 0x00};
  EXPECT_FALSE(DecodeProgram(padded_flags, &q));
  // An op count of 1 written as 0x81 0x00.
  const std::vector<uint8_t> padded_count = {0x81, 0x00, static_cast<uint8_t>(OpKind::kFork), 0, 0};
  EXPECT_FALSE(DecodeProgram(padded_count, &q));
  // "clear_refs 1" with the type written as 0x81 0x80 0x00.
  const std::vector<uint8_t> padded_field = {1, static_cast<uint8_t>(OpKind::kClearRefs), 0, 0,
                                             0x81, 0x80, 0x00};
  EXPECT_FALSE(DecodeProgram(padded_field, &q));
  // The minimal forms are accepted.
  EXPECT_TRUE(DecodeProgram(std::vector<uint8_t>{1, static_cast<uint8_t>(OpKind::kFork), 0, 0}, &q));
  EXPECT_TRUE(DecodeProgram(
      std::vector<uint8_t>{1, static_cast<uint8_t>(OpKind::kClearRefs), 0, 0, 1}, &q));
}

TEST(ByteCodec, Varints) {
  const uint64_t values[] = {0, 1, 127, 128, 255, 300, 16383, 16384, UINT32_MAX,
                             uint64_t{UINT32_MAX} + 1, UINT64_MAX - 1, UINT64_MAX};
  ByteWriter w;
  for (uint64_t v : values) w.U64(v);
  w.Str("hello");
  w.Str("");
  ByteReader r(w.buffer());
  for (uint64_t v : values) {
    uint64_t got;
    ASSERT_TRUE(r.U64(&got));
    EXPECT_EQ(got, v);
  }
  std::string s;
  ASSERT_TRUE(r.Str(&s));
  EXPECT_EQ(s, "hello");
  ASSERT_TRUE(r.Str(&s));
  EXPECT_EQ(s, "");
  EXPECT_TRUE(r.done());
  uint64_t v;
  EXPECT_FALSE(r.U64(&v));

  // Too long, or bits beyond 64.
  std::vector<uint8_t> eleven(11, 0xff);
  eleven.back() = 0x01;
  ByteReader r2(eleven);
  EXPECT_FALSE(r2.U64(&v));
  std::vector<uint8_t> overflow(9, 0xff);
  overflow.push_back(0x7f);  // bit 70
  ByteReader r3(overflow);
  EXPECT_FALSE(r3.U64(&v));
  // U32 rejects values above 32 bits.
  ByteWriter w4;
  w4.U64(uint64_t{UINT32_MAX} + 1);
  ByteReader r4(w4.buffer());
  uint32_t v32;
  EXPECT_FALSE(r4.U32(&v32));
  // Str rejects lengths beyond the data and beyond max.
  ByteWriter w5;
  w5.U64(10);
  w5.U8('x');
  ByteReader r5(w5.buffer());
  EXPECT_FALSE(r5.Str(&s));
  ByteWriter w6;
  w6.Str("abcdef");
  ByteReader r6(w6.buffer());
  EXPECT_FALSE(r6.Str(&s, 5));
}

TEST(DecodeProgramFuzz, TruncationsOfEveryProgram) {
  for (const Program& p : AllPrograms()) {
    std::vector<uint8_t> bytes = EncodeProgram(p);
    for (size_t n = 0; n <= bytes.size(); n++) {
      CheckDecode(std::span(bytes).first(n));
      if (HasFatalFailure()) return;
    }
  }
}

TEST(DecodeProgramFuzz, RandomBytes) {
  std::mt19937 rng(12345);
  int accepted = 0;
  std::vector<uint8_t> data;
  for (int iter = 0; iter < 20000; iter++) {
    data.resize(rng() % 48);
    for (uint8_t& b : data) b = static_cast<uint8_t>(rng());
    // Half the inputs start with a small op count and a valid kind, so the
    // decoder gets past its first checks.
    if (iter % 2 && data.size() >= 2) {
      data[0] = static_cast<uint8_t>(rng() % 4);
      data[1] = static_cast<uint8_t>(rng() % kNumOpKinds);
      if (data.size() >= 3) data[2] = 0;
    }
    Program p;
    if (DecodeProgram(data, &p)) accepted++;
    CheckDecode(data);
    if (HasFatalFailure()) return;
  }
  EXPECT_GT(accepted, 0);
}

TEST(DecodeProgramFuzz, MutatedEncodings) {
  std::mt19937 rng(777);
  std::vector<std::vector<uint8_t>> seeds;
  for (const Program& p : AllPrograms()) seeds.push_back(EncodeProgram(p));
  int accepted = 0;
  for (int iter = 0; iter < 20000; iter++) {
    std::vector<uint8_t> data = seeds[rng() % seeds.size()];
    int edits = 1 + rng() % 3;
    for (int k = 0; k < edits; k++) {
      size_t pos = data.empty() ? 0 : rng() % data.size();
      switch (rng() % 4) {
        case 0: if (!data.empty()) data[pos] = static_cast<uint8_t>(rng()); break;
        case 1: if (!data.empty()) data[pos] ^= static_cast<uint8_t>(1u << (rng() % 8)); break;
        case 2: data.insert(data.begin() + pos, static_cast<uint8_t>(rng())); break;
        case 3: if (!data.empty()) data.erase(data.begin() + pos); break;
      }
    }
    Program p;
    if (DecodeProgram(data, &p)) accepted++;
    CheckDecode(data);
    if (HasFatalFailure()) return;
  }
  EXPECT_GT(accepted, 0);
}

// ---------------------------------------------------------------------------
// Traces.

Result Make(ResultKind k) {
  Result r;
  r.kind = k;
  return r;
}

Trace EveryResultKind() {
  Trace t;
  t.results.push_back(Make(ResultKind::kNone));
  Result ok = Make(ResultKind::kOk);
  t.results.push_back(ok);
  ok.uffd_faults = kFaultWp | kFaultMissing | kFaultMinor;
  t.results.push_back(ok);
  Result v = Make(ResultKind::kValue);
  v.value = 0x41;
  t.results.push_back(v);
  v.value = -1;
  t.results.push_back(v);
  v.value = INT64_MAX;
  t.results.push_back(v);
  Result scan = Make(ResultKind::kValue);
  scan.is_scan = true;
  scan.value = 2;
  scan.regions = {{0, 1, kCatWritten | kCatPresent}, {3, kArenaPages, 0x1ff}, {5, 6, 0}};
  scan.walk_end = kArenaPages;
  t.results.push_back(scan);
  // The kernel's second answers (CrossAnswer): a scan's pagemap words and
  // its split re-runs, a pagemap's scan, a second call that failed.
  scan.cross.kind = CrossAnswer::kAnswered;
  scan.cross.scan_ret = 0x1ff;
  scan.cross.pagemap = {kPmPresent | 0x42, 0};
  scan.cross.resplit = true;
  scan.cross.whole = {{0, 6, kCatPresent}};
  scan.cross.whole_end = 6;
  scan.cross.resumed = {{1, 2, kCatPresent}, {2, 6, kCatPresent}};
  scan.cross.resumed_end = 6;
  scan.cross.has_unfiltered = true;
  scan.cross.unfiltered = {{0, 3, kCatPresent | kCatHuge}};
  scan.cross.unfiltered_end = 3;
  scan.cross.has_smaps = true;
  scan.cross.smaps = {{0, 1024, 512}, {1024, 1030, 0}};
  t.results.push_back(scan);
  Result empty_scan = Make(ResultKind::kValue);
  empty_scan.is_scan = true;
  empty_scan.walk_end = 4;
  t.results.push_back(empty_scan);
  Result err = Make(ResultKind::kErr);
  err.err = EINVAL;
  t.results.push_back(err);
  err.err = -5;  // not expected, but lossless
  t.results.push_back(err);
  Result fault = Make(ResultKind::kFault);
  fault.signal = SIGSEGV;
  t.results.push_back(fault);
  fault.signal = SIGBUS;
  fault.uffd_faults = kFaultWp;
  t.results.push_back(fault);
  Result pm = Make(ResultKind::kPagemap);
  pm.pagemap = {kPmPresent | kPmMmapExclusive | 0x12345, 0, ~uint64_t{0}, kPmGuardRegion};
  t.results.push_back(pm);
  pm.cross.kind = CrossAnswer::kAnswered;
  pm.cross.scan_ret = 0xff;
  pm.cross.regions = {{0, 1, kCatPresent | kCatWritten}, {3, 4, kCatSwapped}};
  pm.cross.walk_end = 4;
  t.results.push_back(pm);
  pm.cross = CrossAnswer{.kind = CrossAnswer::kFailed, .err = ENOTTY};
  t.results.push_back(pm);
  t.results.push_back(Make(ResultKind::kPagemap));  // pagemap 0 0
  t.results.push_back(Make(ResultKind::kHang));
  t.results.push_back(Make(ResultKind::kLost));
  t.zero_pfn = 0x18ae00;
  return t;
}

TEST(TraceCodec, EveryResultKind) {
  Trace t = EveryResultKind();
  // The table covers every ResultKind.
  std::set<ResultKind> kinds;
  for (const Result& r : t.results) kinds.insert(r.kind);
  EXPECT_EQ(kinds.size(), static_cast<size_t>(ResultKind::kLost) + 1);

  ByteWriter w;
  EncodeTrace(t, &w);
  EncodeTrace(Trace{}, &w);  // two traces back to back
  ByteReader r(w.buffer());
  Trace got;
  ASSERT_TRUE(DecodeTrace(&r, &got));
  EXPECT_EQ(got, t);
  ASSERT_TRUE(DecodeTrace(&r, &got));
  EXPECT_EQ(got, Trace{});
  EXPECT_TRUE(r.done());
}

// Kernel coverage rides after the trace: read back exactly, absent from
// an older executor's reply, and not part of what two traces compare.
TEST(TraceCodec, KernelCoverageAfterTheTrace) {
  Trace t = EveryResultKind();
  t.kernel_cov = {1, 2, 0x80000000u, 0xfffffffeu, 0xffffffffu};
  ByteWriter w;
  EncodeTrace(t, &w);
  EncodeKernelCoverage(t.kernel_cov, &w);
  ByteReader r(w.buffer());
  Trace got;
  ASSERT_TRUE(DecodeTrace(&r, &got));
  EXPECT_TRUE(got.kernel_cov.empty());
  ASSERT_FALSE(r.done());
  ASSERT_TRUE(DecodeKernelCoverage(&r, &got.kernel_cov));
  EXPECT_TRUE(r.done());
  EXPECT_EQ(got.kernel_cov, t.kernel_cov);
  // Sorted features take about one to five bytes each, not eight.
  ByteWriter alone;
  EncodeKernelCoverage(t.kernel_cov, &alone);
  EXPECT_LE(alone.buffer().size(), 1 + 1 + 1 + 5 + 5 + 1 + 1u);

  // Feedback, not an answer: traces that differ only there are equal.
  Trace other = t;
  other.kernel_cov.clear();
  EXPECT_EQ(other, t);
}

TEST(TraceCodec, MalformedKernelCoverage) {
  std::vector<uint32_t> out;
  {  // a count beyond the bound
    ByteWriter w;
    w.U64(kMaxKernelCoverage + 1);
    ByteReader r(w.buffer());
    EXPECT_FALSE(DecodeKernelCoverage(&r, &out));
  }
  {  // fewer features than the count
    ByteWriter w;
    w.U64(3);
    w.U64(5);
    ByteReader r(w.buffer());
    EXPECT_FALSE(DecodeKernelCoverage(&r, &out));
  }
  {  // not increasing (a zero distance after the first)
    ByteWriter w;
    w.U64(2);
    w.U64(5);
    w.U64(0);
    ByteReader r(w.buffer());
    EXPECT_FALSE(DecodeKernelCoverage(&r, &out));
  }
  {  // past 32 bits
    ByteWriter w;
    w.U64(2);
    w.U64(0xffffffffu);
    w.U64(1);
    ByteReader r(w.buffer());
    EXPECT_FALSE(DecodeKernelCoverage(&r, &out));
  }
}

TEST(TraceCodec, EachResultAlone) {
  for (const Result& res : EveryResultKind().results) {
    Trace t;
    t.results = {res};
    ByteWriter w;
    EncodeTrace(t, &w);
    std::vector<uint8_t> bytes = w.buffer();
    ByteReader r(bytes);
    Trace got;
    ASSERT_TRUE(DecodeTrace(&r, &got));
    EXPECT_EQ(got, t);
    EXPECT_TRUE(r.done());
    for (size_t n = 0; n < bytes.size(); n++) {
      ByteReader rn{std::span(bytes).first(n)};
      EXPECT_FALSE(DecodeTrace(&rn, &got)) << n;
    }
  }
}

TEST(TraceCodec, RejectsMalformed) {
  Trace t;
  t.results = {Make(ResultKind::kOk)};
  ByteWriter w;
  EncodeTrace(t, &w);
  std::vector<uint8_t> bytes = w.buffer();
  bytes[1] = static_cast<uint8_t>(ResultKind::kLost) + 1;  // kind
  ByteReader r(bytes);
  Trace got;
  EXPECT_FALSE(DecodeTrace(&r, &got));
  // A count beyond kMaxOps.
  ByteWriter w2;
  w2.U64(kMaxOps + 1);
  ByteReader r2(w2.buffer());
  EXPECT_FALSE(DecodeTrace(&r2, &got));
}

TEST(TraceCodec, RandomBytes) {
  std::mt19937 rng(4242);
  std::vector<uint8_t> data;
  for (int iter = 0; iter < 5000; iter++) {
    data.resize(rng() % 64);
    for (uint8_t& b : data) b = static_cast<uint8_t>(rng());
    if (!data.empty()) data[0] = static_cast<uint8_t>(rng() % 3);
    ByteReader r(data);
    Trace got;
    if (DecodeTrace(&r, &got)) {
      ByteWriter w;
      EncodeTrace(got, &w);
      ByteReader r2(w.buffer());
      Trace again;
      ASSERT_TRUE(DecodeTrace(&r2, &again));
      EXPECT_EQ(again, got);
    }
  }
}

// ---------------------------------------------------------------------------
// Kernel features.

KernelFeatures SomeFeatures() {
  KernelFeatures f;
  f.release = "6.15.0-rc1-mmdiff";
  f.features = kFeatSoftDirty | kFeatPagemapScan | kFeatGuard;
  f.uffd_api_features = 0x1fffffULL | (1ULL << 40);
  f.scan_categories = 0x1ff;
  f.thp_mode = "madvise";
  f.hugetlb_free = 16;
  f.swap_total_kb = 1ULL << 33;
  f.khugepaged_max_ptes_none = 511;
  f.khugepaged_max_ptes_swap = 64;
  f.khugepaged_max_ptes_shared = 0;
  return f;
}

TEST(FeaturesCodec, RoundTrip) {
  for (const KernelFeatures& f : {KernelFeatures{}, SomeFeatures()}) {
    ByteWriter w;
    EncodeFeatures(f, &w);
    std::vector<uint8_t> bytes = w.buffer();
    ByteReader r(bytes);
    KernelFeatures got;
    ASSERT_TRUE(DecodeFeatures(&r, &got));
    EXPECT_EQ(got, f);
    EXPECT_TRUE(r.done());
    for (size_t n = 0; n < bytes.size(); n++) {
      ByteReader rn{std::span(bytes).first(n)};
      KernelFeatures g;
      EXPECT_FALSE(DecodeFeatures(&rn, &g)) << n;
    }
  }
}

TEST(FeaturesCodec, RejectsOversizedStrings) {
  KernelFeatures f = SomeFeatures();
  f.release = std::string(300, 'x');
  ByteWriter w;
  EncodeFeatures(f, &w);
  ByteReader r(w.buffer());
  KernelFeatures got;
  EXPECT_FALSE(DecodeFeatures(&r, &got));
}

TEST(FeaturesCodec, Print) {
  KernelFeatures f = SomeFeatures();
  std::string text = PrintFeatures(f);
  EXPECT_NE(text.find("kernel: 6.15.0-rc1-mmdiff\n"), std::string::npos) << text;
  EXPECT_NE(text.find("soft_dirty: yes\n"), std::string::npos) << text;
  EXPECT_NE(text.find("pagemap_scan: yes\n"), std::string::npos) << text;
  EXPECT_NE(text.find("guard: yes\n"), std::string::npos) << text;
  EXPECT_NE(text.find("uffd_wp: no\n"), std::string::npos) << text;
  EXPECT_NE(text.find("thp_mode: madvise\n"), std::string::npos) << text;
  EXPECT_NE(text.find("scan_categories: wpallowed,written,file,present,swapped,pfnzero,huge,soft_dirty,guard\n"),
            std::string::npos)
      << text;
  // Every feature has a line.
  for (const char* name : FeatureNames())
    EXPECT_NE(text.find(std::string("\n") + name + ": "), std::string::npos) << name;

  KernelFeatures none;
  text = PrintFeatures(none);
  EXPECT_NE(text.find("soft_dirty: no\n"), std::string::npos) << text;
  EXPECT_EQ(text.find(": yes"), std::string::npos) << text;
  EXPECT_NE(text.find("scan_categories: none\n"), std::string::npos) << text;
}

}  // namespace
}  // namespace mmdiff
