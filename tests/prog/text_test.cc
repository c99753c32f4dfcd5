// Tests of the .mmp text format (docs/FORMAT.md): parse, print, round trip, errors.
#include <gtest/gtest.h>

#include <cerrno>
#include <csignal>
#include <set>
#include <string>
#include <vector>

#include "prog/op_table.h"
#include "prog/text.h"
#include "tests/prog/test_programs.h"
#include "tests/temp_dir.h"

namespace mmdiff {
namespace {

std::string Lines(std::string_view s) {
  std::string out(s);
  out += '\n';
  return out;
}

// ---------------------------------------------------------------------------
// 1. Round trip of every op and every argument form.

class RoundTrip : public testing::TestWithParam<RoundTripCase> {};

TEST_P(RoundTrip, ParsePrintParse) {
  const RoundTripCase& c = GetParam();
  Program p;
  TextError e;
  ASSERT_TRUE(ParseProgram(c.text, "t.mmp", &p, &e)) << e.ToString();
  std::string want = Lines(c.canonical ? c.canonical : c.text);
  std::string printed = PrintProgram(p);
  EXPECT_EQ(printed, want);
  Program again;
  ASSERT_TRUE(ParseProgram(printed, "printed.mmp", &again, &e)) << e.ToString();
  EXPECT_EQ(again, p);
  EXPECT_EQ(PrintProgram(again), printed);
  EXPECT_FALSE(Validate(p).has_value());
}

INSTANTIATE_TEST_SUITE_P(AllOps, RoundTrip, testing::ValuesIn(kRoundTripCases));

// A new op without a row in the round-trip table fails here.
TEST(RoundTripTable, CoversEveryOp) {
  std::set<OpKind> seen;
  for (const RoundTripCase& c : kRoundTripCases) {
    Program p;
    TextError e;
    ASSERT_TRUE(ParseProgram(c.text, "t", &p, &e)) << e.ToString();
    for (const Op& op : p.ops) seen.insert(op.kind);
  }
  ASSERT_EQ(AllOps().size(), static_cast<size_t>(kNumOpKinds));
  for (const OpInfo& info : AllOps()) {
    EXPECT_TRUE(seen.count(info.kind)) << "no round-trip row for op '" << info.name << "'";
    EXPECT_EQ(&GetOpInfo(info.kind), &info);
    EXPECT_EQ(OpKindByName(info.name), info.kind);
  }
}

// Every named value of every enum and word list appears in the table.
TEST(RoundTripTable, CoversEveryName) {
  std::string all;
  for (const RoundTripCase& c : kRoundTripCases) all += std::string(" ") + c.text + "\n";
  auto has_word = [&](const std::string& w) {
    for (const char* sep : {" ", ","})
      for (const char* end : {" ", "\n", ","})
        if (all.find(std::string(sep) + w + end) != std::string::npos ||
            all.find("=" + w + end) != std::string::npos)
          return true;
    return false;
  };
  for (auto names : {ProtNames(), AdviceNames(), FeatureNames(), UffdFeatureNames(),
                     UffdModeNames(), ScanCategoryNames()})
    for (const char* n : names) EXPECT_TRUE(has_word(n)) << n;
}

TEST(RoundTrip, ParsedFields) {
  Program p;
  TextError e;
  ASSERT_TRUE(ParseProgram("mmap 16 4 rx memfd:3+7 shared populate hugetlb\n"
                           "mremap 1 2 3 move 40 dontunmap\n"
                           "write 5 +4095 =255\n"
                           "uffd_wp 0 8 on dontwake\n"
                           "scan 0 8 wp_matching req=written,present inv=0x400 ret=0x0 max=3 vec=0\n"
                           "uffd_register 0 1 minor missing\n"
                           "requires guard swap\n"
                           "fwrite 7 262143\n",
                           "t", &p, &e))
      << e.ToString();
  ASSERT_EQ(p.ops.size(), 8u);
  const Op& m = p.ops[0];
  EXPECT_EQ(m.kind, OpKind::kMmap);
  EXPECT_EQ(m.page, 16u);
  EXPECT_EQ(m.npages, 4u);
  EXPECT_EQ(m.prot, Prot::kRX);
  EXPECT_EQ(m.backing, Backing::kMemfd);
  EXPECT_EQ(m.file, 3);
  EXPECT_EQ(m.file_pgoff, 7u);
  EXPECT_TRUE(m.shared);
  EXPECT_EQ(m.flags, kFlagPopulate | kFlagHugetlb);
  const Op& r = p.ops[1];
  EXPECT_EQ(r.new_npages, 3u);
  EXPECT_EQ(r.new_page, 40u);
  EXPECT_EQ(r.flags, kFlagMove | kFlagDontunmap);
  const Op& w = p.ops[2];
  EXPECT_EQ(w.offset, 4095);
  EXPECT_EQ(w.byte, 255);
  EXPECT_EQ(w.flags, kFlagHasOffset | kFlagHasByte);
  EXPECT_EQ(p.ops[3].flags, kFlagWpOn | kFlagDontwake);
  const Op& s = p.ops[4];
  EXPECT_EQ(s.scan_req, kCatWritten | kCatPresent);
  EXPECT_EQ(s.scan_inv, 0x400u);
  EXPECT_EQ(s.scan_ret, 0u);
  EXPECT_EQ(s.scan_max, 3u);
  EXPECT_EQ(s.scan_vec, 0u);
  EXPECT_EQ(s.flags, kFlagWpMatching | kFlagHasRet | kFlagHasVec);
  EXPECT_EQ(p.ops[5].uffd_modes, kUffdModeMinor | kUffdModeMissing);
  EXPECT_EQ(p.ops[6].required_features, kFeatGuard | kFeatSwap);
  EXPECT_EQ(p.Requires(), kFeatGuard | kFeatSwap);
  EXPECT_EQ(p.ops[7].file, 7);
  EXPECT_EQ(p.ops[7].page, 262143u);
  EXPECT_EQ(p.lines, (std::vector<int>{1, 2, 3, 4, 5, 6, 7, 8}));
}

TEST(RoundTrip, ProcessesAndNumProcs) {
  Program p;
  TextError e;
  ASSERT_TRUE(ParseProgram("fork\nfork\np2: fork\np3: write 0\np0x1: exit\n", "t", &p, &e))
      << e.ToString();
  EXPECT_EQ(p.NumProcs(), 4);
  EXPECT_EQ(p.ops[3].proc, 3);
  EXPECT_EQ(p.ops[4].proc, 1);
  EXPECT_EQ(PrintProgram(p), "fork\nfork\np2: fork\np3: write 0\np1: exit\n");
}

TEST(RoundTrip, PrintedProgramParsesBack) {
  // Programs built in code (as the generator does) print and parse back.
  Program p;
  Op m;
  m.kind = OpKind::kMmap;
  m.npages = 3;
  m.prot = Prot::kRWX;
  m.backing = Backing::kFile;
  m.file = 2;
  m.file_pgoff = 5;
  p.Add(m);
  Op s;
  s.kind = OpKind::kScan;
  s.npages = 3;
  s.scan_any = 0x1ff;
  s.scan_ret = kCatPresent;
  s.flags = kFlagHasRet | kFlagCheckWpasync;
  Result sr;
  sr.kind = ResultKind::kValue;
  sr.is_scan = true;
  sr.value = 1;
  sr.regions = {{0, 3, kCatPresent}};
  sr.walk_end = 3;
  p.Add(s, sr);
  std::string text = PrintProgram(p);
  EXPECT_EQ(text,
            "mmap 0 3 rwx file:2+5 private\n"
            "scan 0 3 check_wpasync "
            "any=wpallowed,written,file,present,swapped,pfnzero,huge,soft_dirty,guard "
            "ret=present => = 1 [0,3):p end=3\n");
  Program q;
  TextError e;
  ASSERT_TRUE(ParseProgram(text, "t", &q, &e)) << e.ToString();
  EXPECT_EQ(q, p);
}

// ---------------------------------------------------------------------------
// 2. Results.

Result Kind(ResultKind k) {
  Result r;
  r.kind = k;
  return r;
}
Result Ok(uint8_t faults = 0) {
  Result r = Kind(ResultKind::kOk);
  r.uffd_faults = faults;
  return r;
}
Result Value(int64_t v) {
  Result r = Kind(ResultKind::kValue);
  r.value = v;
  return r;
}
Result Err(int e) {
  Result r = Kind(ResultKind::kErr);
  r.err = e;
  return r;
}
Result Fault(int sig) {
  Result r = Kind(ResultKind::kFault);
  r.signal = sig;
  return r;
}
Result Pagemap(std::vector<uint64_t> bits, std::vector<uint64_t> either = {}) {
  Result r = Kind(ResultKind::kPagemap);
  r.pagemap = std::move(bits);
  r.either = std::move(either);
  return r;
}
Result Scan(int64_t n, std::vector<ScanRegion> regions, uint64_t end) {
  Result r = Value(n);
  r.is_scan = true;
  r.regions = std::move(regions);
  r.walk_end = end;
  return r;
}

constexpr uint64_t P = kPmPresent, S = kPmSwap, F = kPmFile, X = kPmMmapExclusive, W = kPmUffdWp,
                   D = kPmSoftDirty, G = kPmGuardRegion;

struct ResultCase {
  const char* line;       // one op line with "=> RESULT"; its op is the last one
  const char* canonical;  // nullptr: same as line
  Result want;
};

// Lines that need a fork first are prefixed with "fork\n".
const ResultCase kResultCases[] = {
    {"mmap 0 1 rw anon private => ok", nullptr, Ok()},
    {"write 0 => ok wpfault", nullptr, Ok(kFaultWp)},
    {"read 0 => ok missingfault", nullptr, Ok(kFaultMissing)},
    {"read 0 => ok minorfault", nullptr, Ok(kFaultMinor)},
    {"write 0 => ok wpfault missingfault minorfault", "write 0 => ok missingfault minorfault wpfault",
     Ok(kFaultWp | kFaultMissing | kFaultMinor)},
    {"read 0 => = 0x41", nullptr, Value(0x41)},
    {"read 0 +7 => = 0x00", nullptr, Value(0)},
    {"read 0 => = 65", "read 0 => = 0x41", Value(0x41)},
    {"read 0 => = 0x41 missingfault", nullptr,
     [] { Result r = Value(0x41); r.uffd_faults = kFaultMissing; return r; }()},
    {"fork => = p1", nullptr, Value(1)},
    {"munmap 0 1 => = 7", nullptr, Value(7)},
    {"munmap 0 1 => err EINVAL", nullptr, Err(EINVAL)},
    {"mmap 0 1 rw anon private => err ENOMEM", nullptr, Err(ENOMEM)},
    {"mmap 0 1 rw anon private => err EEXIST", nullptr, Err(EEXIST)},
    {"uffd_open => err EPERM", nullptr, Err(EPERM)},
    {"uffd_open => err E300", nullptr, Err(300)},
    {"write 0 => fault SEGV", nullptr, Fault(SIGSEGV)},
    {"read 0 => fault BUS", nullptr, Fault(SIGBUS)},
    {"write 0 => hang", nullptr, Kind(ResultKind::kHang)},
    {"read 0 => lost", nullptr, Kind(ResultKind::kLost)},
    // Userfaults resolved before the final outcome are kept with every kind.
    {"write 0 => hang wpfault", nullptr,
     [] { Result r = Kind(ResultKind::kHang); r.uffd_faults = kFaultWp; return r; }()},
    {"read 0 => lost missingfault", nullptr,
     [] { Result r = Kind(ResultKind::kLost); r.uffd_faults = kFaultMissing; return r; }()},
    {"write 0 => err EFAULT wpfault", nullptr,
     [] { Result r = Err(EFAULT); r.uffd_faults = kFaultWp; return r; }()},
    {"write 0 => fault BUS minorfault wpfault", nullptr,
     [] { Result r = Fault(SIGBUS); r.uffd_faults = kFaultMinor | kFaultWp; return r; }()},
    {"pagemap 0 1 => P--X--", nullptr, Pagemap({P | X})},
    {"pagemap 0 1 => PSFXWD", nullptr, Pagemap({P | S | F | X | W | D})},
    {"pagemap 0 1 => ------G", nullptr, Pagemap({G})},
    {"pagemap 0 1 => PSFXWDG", nullptr, Pagemap({P | S | F | X | W | D | G})},
    {"pagemap 0 1 => ?--X-?", nullptr, Pagemap({X}, {P | D})},
    {"pagemap 0 1 => ??????", nullptr, Pagemap({0}, {P | S | F | X | W | D})},
    {"pagemap 0 1 => ------?", nullptr, Pagemap({0}, {G})},
    {"pagemap 0 4 => P--X-- P--X-D ------ ------", nullptr,
     Pagemap({P | X, P | X | D, 0, 0})},
    {"pagemap 0 3 => P--X-- ?----- --F--DG", nullptr, Pagemap({P | X, 0, F | D | G}, {0, P, 0})},
    {"pagemap 0 1 => err EINVAL", nullptr, Err(EINVAL)},
    {"pagemap 0 1 => ok", nullptr, Ok()},
    {"scan 0 8 => = 2 [0,1):wp [3,4):awfpszhdg end=8", nullptr,
     Scan(2, {{0, 1, kCatWritten | kCatPresent}, {3, 4, 0x1ff}}, 8)},
    {"scan 0 4 => = 0 end=4", nullptr, Scan(0, {}, 4)},
    {"scan 0 4 => = 1 [0,1):- end=1", nullptr, Scan(1, {{0, 1, 0}}, 1)},
    {"scan 0 4 => = 1 [0,4):pa end=4", "scan 0 4 => = 1 [0,4):ap end=4",
     Scan(1, {{0, 4, kCatWpAllowed | kCatPresent}}, 4)},
    {"scan 0 4 => = 1 [0,1): end=1", "scan 0 4 => = 1 [0,1):- end=1", Scan(1, {{0, 1, 0}}, 1)},
    {"scan 0 4 => err EINVAL", nullptr, Err(EINVAL)},
    {"scan 1048575 1 => = 1 [1048575,1048576):g end=1048576", nullptr,
     Scan(1, {{1048575, 1048576, kCatGuard}}, 1048576)},
    {"fork\np1: write 0 => ok", nullptr, Ok()},
    {"fork\np1: fork => = p2", nullptr, Value(2)},
};

class ResultRoundTrip : public testing::TestWithParam<ResultCase> {};

TEST_P(ResultRoundTrip, FieldsAndText) {
  const ResultCase& c = GetParam();
  Program p;
  TextError e;
  ASSERT_TRUE(ParseProgram(c.line, "r.mmp", &p, &e)) << e.ToString();
  ASSERT_FALSE(p.ops.empty());
  EXPECT_EQ(p.expect.back(), c.want);
  std::string printed = PrintProgram(p);
  EXPECT_EQ(printed, Lines(c.canonical ? c.canonical : c.line));
  Program again;
  ASSERT_TRUE(ParseProgram(printed, "r.mmp", &again, &e)) << e.ToString();
  EXPECT_EQ(again, p);
  // PrintResult gives the text after "=> ".
  std::string line = printed.substr(0, printed.size() - 1);
  line = line.substr(line.rfind('\n') == std::string::npos ? 0 : line.rfind('\n') + 1);
  EXPECT_EQ(" => " + PrintResult(p.ops.back(), p.expect.back()),
            line.substr(line.find(" => ")));
}

INSTANTIATE_TEST_SUITE_P(AllForms, ResultRoundTrip, testing::ValuesIn(kResultCases));

TEST(Results, NoExpectationIsKindNone) {
  Program p;
  TextError e;
  ASSERT_TRUE(ParseProgram("write 0\nwrite 1 => ok\n", "t", &p, &e)) << e.ToString();
  ASSERT_EQ(p.expect.size(), 2u);
  EXPECT_EQ(p.expect[0].kind, ResultKind::kNone);
  EXPECT_EQ(p.expect[1].kind, ResultKind::kOk);
}

TEST(Results, EmptyPagemapResult) {
  Program p;
  TextError e;
  ASSERT_TRUE(ParseProgram("pagemap 0 0 =>", "t", &p, &e)) << e.ToString();
  EXPECT_EQ(p.expect[0], Pagemap({}));
  Program q;
  ASSERT_TRUE(ParseProgram(PrintProgram(p), "t", &q, &e)) << e.ToString();
  EXPECT_EQ(q, p);
}

TEST(Results, Helpers) {
  EXPECT_EQ(PagemapToken(P | X), "P--X--");
  EXPECT_EQ(PagemapToken(P | S | F | X | W | D), "PSFXWD");
  EXPECT_EQ(PagemapToken(G), "------G");
  EXPECT_EQ(PagemapToken(X | 0x1234, P | D), "?--X-?");  // PFN bits are not shown
  EXPECT_EQ(PagemapToken(G, G), "------?");
  EXPECT_EQ(CategoriesToLetters(0), "-");
  EXPECT_EQ(CategoriesToLetters(0x1ff), "awfpszhdg");
  EXPECT_EQ(CategoryList(kCatWritten | kCatPresent), "written,present");
  EXPECT_EQ(CategoryList(0x400), "0x400");
  EXPECT_EQ(FeatureList(kFeatSoftDirty | kFeatUffdWp), "soft_dirty uffd_wp");
  EXPECT_EQ(ErrnoName(EINVAL), "EINVAL");
  EXPECT_EQ(ErrnoName(3000), "E3000");
  EXPECT_EQ(ErrnoByName("ENOMEM"), ENOMEM);
  EXPECT_EQ(ErrnoByName("EBOGUS"), 0);
  EXPECT_EQ(ErrnoByName(""), 0);
  EXPECT_EQ(ErrnoByName("E"), 0);
  EXPECT_EQ(ErrnoByName("E0"), 0);
  EXPECT_EQ(ErrnoByName("E3000"), 3000);
}

TEST(Results, RawPagemapIsAComment) {
  Program p;
  TextError e;
  ASSERT_TRUE(ParseProgram("pagemap 0 2", "t", &p, &e)) << e.ToString();
  Result r = Pagemap({P | X | 0x1234, 0});
  std::string text = PrintResult(p.ops[0], r, /*raw=*/true);
  EXPECT_EQ(text, "P--X-- ------  # raw 0x8100000000001234 0x0000000000000000");
  Program q;
  ASSERT_TRUE(ParseProgram("pagemap 0 2 => " + text, "t", &q, &e)) << e.ToString();
  EXPECT_EQ(q.expect[0], Pagemap({P | X, 0}));
}

// ---------------------------------------------------------------------------
// 3. Rejections.

struct RejectCase {
  std::string text;
  int line;
  int column;
  std::string token;
  const char* message;  // substring of TextError::message
};

const std::string kLong(100000, 'a');

const RejectCase kRejectCases[] = {
    {"frobnicate 0 1", 1, 1, "frobnicate", "unknown op"},
    {"mmap 0 1 rw anon private\nmunmap 0 1 bogus", 2, 12, "bogus", "unknown argument for munmap"},
    {"write 0 +1 +2", 1, 12, "+2", "given twice"},
    {"fork extra", 1, 6, "extra", "unknown argument for fork"},
    {"mmap 0 1 rw anon", 1, 13, "anon", "missing arguments for mmap"},
    {"munmap", 1, 1, "munmap", "missing arguments for munmap"},
    {"uffd_wp 0 4", 1, 11, "4", "missing arguments for uffd_wp"},
    {"write 1048576", 1, 7, "1048576", "page out of range"},
    {"mmap 0 1048577 rw anon private", 1, 8, "1048577", "page count out of range"},
    {"mmap 1048575 2 rw anon private", 1, 1, "mmap 1048575 2 rw anon private", "range outside the arena"},
    {"mremap 0 1 2 move 1048576", 1, 19, "1048576", "page out of range"},
    {"mremap 0 1 2 move", 1, 14, "move", "'move' needs a page"},
    {"mremap 0 1 2 move 1048575", 1, 1, "mremap 0 1 2 move 1048575", "new range outside the arena"},
    {"memfd 8 1", 1, 7, "8", "file slot out of range (max 7)"},
    {"mmap 0 1 rw memfd:8+0 shared", 1, 13, "memfd:8+0", "file slot out of range"},
    {"mmap 0 1 rw file:0+262144 shared", 1, 13, "file:0+262144", "file page offset out of range"},
    {"memfd 0 262145", 1, 1, "memfd 0 262145", "file size beyond the largest file"},
    {"fwrite 0 262144", 1, 10, "262144", "file page out of range"},
    {"read 0 +4096", 1, 8, "+4096", "offset out of range (max 4095)"},
    {"read 0 +", 1, 8, "+", "expected a number for offset"},
    {"clear_refs 0", 1, 12, "0", "clear_refs type out of range"},
    {"clear_refs 6", 1, 12, "6", "clear_refs type out of range"},
    {"write 0 =256", 1, 9, "=256", "byte out of range (max 255)"},
    {"fwrite 0 0 =0x100", 1, 12, "=0x100", "byte out of range"},
    {"write 0 =", 1, 9, "=", "expected a number for byte"},
    {"write 99999999999999999999999", 1, 7, "99999999999999999999999", "expected a number for page"},
    {"write -1", 1, 7, "-1", "expected a number for page"},
    {"write 0x", 1, 7, "0x", "expected a number for page"},
    {"write 12a", 1, 7, "12a", "expected a number for page"},
    {"mmap 0 1 rwxs anon private", 1, 10, "rwxs", "expected a protection"},
    {"mprotect 0 1 w", 1, 14, "w", "expected a protection"},
    {"mmap 0 1 rw memfd:x private", 1, 13, "memfd:x", "expected a number for file slot"},
    {"mmap 0 1 rw memfd:1+ private", 1, 13, "memfd:1+", "expected a number for file page offset"},
    {"mmap 0 1 rw disk:0 private", 1, 13, "disk:0", "expected a backing"},
    {"mmap 0 1 rw anon public", 1, 18, "public", "expected private or shared"},
    {"mmap 0 1 rw anon private populate populate", 1, 35, "populate", "given twice"},
    {"mremap 0 1 2 move 3 move 4", 1, 26, "4", "given twice"},
    {"madvise 0 1 forget", 1, 13, "forget", "unknown madvise advice"},
    {"uffd_wp 0 1 maybe", 1, 13, "maybe", "expected on or off"},
    {"requires soft_dirty soft_dirty", 1, 21, "soft_dirty", "given twice"},
    {"requires teleport", 1, 10, "teleport", "unknown argument for requires"},
    {"uffd_open event_fork event_fork", 1, 22, "event_fork", "given twice"},
    {"uffd_register 0 1 wp wp", 1, 22, "wp", "given twice"},
    {"uffd_register 0 1 async", 1, 19, "async", "unknown argument for uffd_register"},
    {"scan 0 1 req=written req=present", 1, 22, "req=present", "given twice"},
    {"scan 0 1 req=dirty", 1, 10, "req=dirty", "unknown scan category 'dirty'"},
    {"scan 0 1 req=", 1, 10, "req=", "empty category list"},
    {"scan 0 1 any=written,", 1, 10, "any=written,", "empty category after ','"},
    {"scan 0 1 inv=0x10000", 1, 10, "inv=0x10000", "category mask out of range"},
    {"scan 0 1 max=x", 1, 10, "max=x", "expected a number for max"},
    {"scan 0 1 vec=4097", 1, 1, "scan 0 1 vec=4097", "vec= above 4096"},
    {"scan 0 1 wp_matching=1", 1, 10, "wp_matching=1", "unknown argument for scan"},
    {"pagemap 0 4097", 1, 1, "pagemap 0 4097", "pagemap of more than 4096 pages"},
    // Results.
    {"pagemap 0 1 => P--X-Q", 1, 16, "P--X-Q", "pagemap letter 6 must be 'D'"},
    {"pagemap 0 1 => p--X--", 1, 16, "p--X--", "pagemap letter 1 must be 'P'"},
    {"pagemap 0 1 => P--X---", 1, 16, "P--X---", "pagemap letter 7 must be 'G'"},
    {"pagemap 0 1 => P--X-", 1, 16, "P--X-", "expected a pagemap entry of 6 letters"},
    {"pagemap 0 1 => P--X--GG", 1, 16, "P--X--GG", "expected a pagemap entry"},
    {"pagemap 0 2 => P--X--", 1, 16, "P--X--", "pagemap result has 1 entries for 2 pages"},
    {"pagemap 0 1 => P--X-- ------", 1, 23, "------", "pagemap result has 2 entries for 1 pages"},
    {"scan 0 4 => = 2 [0,1):w end=4", 1, 25, "end=4", "expected a scan region"},
    {"scan 0 4 => = 2 [0,1):w", 1, 17, "[0,1):w", "fewer scan regions than the count"},
    {"scan 0 4 => = 4294967295", 1, 15, "4294967295", "fewer scan regions than the count"},
    {"scan 0 4 => = 1 [0,1):w", 1, 17, "[0,1):w", "expected end=PAGE"},
    {"scan 0 4 => = 0", 1, 15, "0", "expected end=PAGE"},
    {"scan 0 4 => = 0 4", 1, 17, "4", "expected end=PAGE"},
    {"scan 0 4 => = 0 end=x", 1, 17, "end=x", "expected a number for walk_end"},
    {"scan 0 4 => = 1 [0,1):ww end=1", 1, 17, "[0,1):ww", "bad category letter 'w'"},
    {"scan 0 4 => = 1 [0,1):x end=1", 1, 17, "[0,1):x", "bad category letter 'x'"},
    {"scan 0 4 => = 1 (0,1):w end=1", 1, 17, "(0,1):w", "expected a scan region"},
    {"scan 0 4 => = 1 [0;1):w end=1", 1, 17, "[0;1):w", "expected a scan region"},
    {"scan 0 4 => = 1 [a,1):w end=1", 1, 17, "[a,1):w", "expected a number for region start"},
    {"scan 0 4 => = 0 end=4 extra", 1, 23, "extra", "unexpected token after the result"},
    {"munmap 0 1 => err EWHATEVER", 1, 19, "EWHATEVER", "unknown errno name"},
    {"munmap 0 1 => err", 1, 15, "err", "'err' needs an errno name"},
    {"write 0 => fault ILL", 1, 18, "ILL", "expected SEGV or BUS"},
    {"write 0 => fault", 1, 12, "fault", "'fault' needs SEGV or BUS"},
    {"read 0 => =", 1, 11, "=", "'=' needs a value"},
    {"read 0 => = x", 1, 13, "x", "expected a number for value"},
    {"fork => = 1", 1, 11, "1", "fork's value is a process, pN"},
    {"fork => = p16", 1, 11, "p16", "process number out of range"},
    {"write 0 => okay", 1, 12, "okay", "unknown result"},
    {"write 0 => ok wpfaults", 1, 15, "wpfaults", "unexpected token after the result"},
    {"write 0 => ok => ok", 1, 15, "=>", "unexpected token after the result"},
    {"write 0 =>", 1, 9, "=>", "'=>' without a result"},
    {"write 0 =>   # nothing", 1, 9, "=>", "'=>' without a result"},
    {"=> ok", 1, 1, "=>", "'=>' before an op"},
    {"write 0\n  => ok", 2, 3, "=>", "'=>' before an op"},
    // Processes.
    {"p1: write 0", 1, 1, "p1: write 0", "p1 has not been forked yet"},
    {"write 0\nfork\np2: write 0", 3, 1, "p2: write 0", "p2 has not been forked yet"},
    {"fork\np1: exit\np1: write 0", 3, 1, "p1: write 0", "p1 has exited"},
    {"exit\nwrite 0", 2, 1, "write 0", "p0 has exited"},
    {"p16: write 0", 1, 1, "p16:", "process number out of range"},
    {"p1:", 1, 1, "p1:", "process prefix without an op"},
    {"px: write 0", 1, 1, "px:", "expected a number for process number"},
    {"p1 write 0", 1, 1, "p1", "unknown op"},
    // Garbage.
    {"\xff\xfe\xfd", 1, 1, "\xff", "not a text program: a byte that is not UTF-8"},
    {"write \xc3\xa9", 1, 7, "\xc3\xa9", "expected a number for page"},
    {std::string("write\0 0", 8), 1, 6, std::string("\0", 1), "not a text program: a NUL byte"},
    {"mmap 0 1 rw anon private\n" + kLong, 2, 1, kLong, "unknown op"},
    {"write " + std::string(5000, '9'), 1, 7, std::string(5000, '9'), "expected a number for page"},
    {"scan 0 1 req=" + kLong, 1, 10, "req=" + kLong, "unknown scan category"},
};

class Reject : public testing::TestWithParam<RejectCase> {};

TEST_P(Reject, ErrorNamesLineColumnToken) {
  const RejectCase& c = GetParam();
  Program p;
  TextError e;
  ASSERT_FALSE(ParseProgram(c.text, "bad.mmp", &p, &e));
  EXPECT_EQ(e.file, "bad.mmp");
  EXPECT_EQ(e.line, c.line);
  EXPECT_EQ(e.column, c.column);
  EXPECT_EQ(e.token, c.token);
  EXPECT_NE(e.message.find(c.message), std::string::npos) << e.message;
  std::string want = "bad.mmp:" + std::to_string(c.line) + ":" + std::to_string(c.column) + ": " +
                     e.message;
  // The message shows the token cut and escaped (input_test.cc).
  if (!c.token.empty()) want += ": '" + PrintableToken(c.token) + "'";
  EXPECT_EQ(e.ToString(), want);
}

INSTANTIATE_TEST_SUITE_P(Malformed, Reject, testing::ValuesIn(kRejectCases));

TEST(Reject, ToStringForm) {
  Program p;
  TextError e;
  ASSERT_FALSE(ParseProgram("mmap 0 1 rw anon private\nwrite 0 =256\n", "x/y.mmp", &p, &e));
  EXPECT_EQ(e.ToString(), "x/y.mmp:2:9: byte out of range (max 255): '=256'");
  ASSERT_FALSE(ParseProgram("fork\np1: exit\np1: read 0\n", "z.mmp", &p, &e));
  EXPECT_EQ(e.ToString(), "z.mmp:3:1: p1 has exited: 'p1: read 0'");
}

TEST(Reject, TooManyOps) {
  std::string text;
  for (uint32_t i = 0; i <= kMaxOps; i++) text += "write 0\n";
  Program p;
  TextError e;
  ASSERT_FALSE(ParseProgram(text, "t", &p, &e));
  EXPECT_EQ(e.line, static_cast<int>(kMaxOps) + 1);
  EXPECT_NE(e.message.find("more than 4096 ops"), std::string::npos);
  text.resize(text.size() - 8);
  ASSERT_TRUE(ParseProgram(text, "t", &p, &e)) << e.ToString();
  EXPECT_EQ(p.ops.size(), kMaxOps);
}

TEST(Reject, TooManyProcesses) {
  std::string text;
  for (int i = 0; i < kMaxProcs - 1; i++) text += "fork\n";
  Program p;
  TextError e;
  ASSERT_TRUE(ParseProgram(text + "p15: write 0\n", "t", &p, &e)) << e.ToString();
  ASSERT_FALSE(ParseProgram(text + "fork\n", "t", &p, &e));
  EXPECT_EQ(e.line, kMaxProcs);
  EXPECT_NE(e.message.find("more than 16 processes"), std::string::npos) << e.message;
}

TEST(Reject, MissingFile) {
  Program p;
  TextError e;
  const std::string path = "/nonexistent-mmdiff-dir/missing.mmp";
  ASSERT_FALSE(ParseProgramFile(path, &p, &e));
  EXPECT_EQ(e.file, path);
  EXPECT_EQ(e.line, 0);
  EXPECT_NE(e.message.find("cannot open"), std::string::npos) << e.message;
  EXPECT_NE(e.message.find("No such file"), std::string::npos) << e.message;
  EXPECT_EQ(e.ToString().rfind(path + ": cannot open", 0), 0u) << e.ToString();
}

TEST(ParseFile, ReadsAndNamesTheFile) {
  testutil::TempDir tmp{"mmdiff-text-test"};
  std::string path = tmp.path("t.mmp");
  {
    FILE* f = fopen(path.c_str(), "wb");
    ASSERT_NE(f, nullptr);
    fputs("# header\r\nmmap 0 1 rw anon private => ok\r\nwrite 0 =1\r\nwrite 9999999\r\n", f);
    fclose(f);
  }
  Program p;
  TextError e;
  ASSERT_FALSE(ParseProgramFile(path, &p, &e));
  EXPECT_EQ(e.ToString(), path + ":4:7: page out of range (max 1048575): '9999999'");
  {
    FILE* f = fopen(path.c_str(), "wb");
    ASSERT_NE(f, nullptr);
    fputs("# header\r\nmmap 0 1 rw anon private => ok\r\nwrite 0 =1\r\n", f);
    fclose(f);
  }
  ASSERT_TRUE(ParseProgramFile(path, &p, &e)) << e.ToString();
  EXPECT_EQ(PrintProgram(p), "mmap 0 1 rw anon private => ok\nwrite 0 =1\n");
  EXPECT_EQ(p.lines, (std::vector<int>{2, 3}));
}

// ---------------------------------------------------------------------------
// 4. Comments, blank lines, CRLF, tabs.

struct LayoutCase {
  std::string text;
  std::vector<int> lines;  // source line of each op
};

const char kLayoutCanonical[] = "mmap 0 4 rw anon private => ok\nwrite 0 =7\npagemap 0 1 => P--X--\n";

const LayoutCase kLayoutCases[] = {
    {"mmap 0 4 rw anon private => ok\nwrite 0 =7\npagemap 0 1 => P--X--\n", {1, 2, 3}},
    {"mmap 0 4 rw anon private => ok\nwrite 0 =7\npagemap 0 1 => P--X--", {1, 2, 3}},
    {"# a comment\n\nmmap 0 4 rw anon private => ok\n\n   \n# another\nwrite 0 =7\n"
     "pagemap 0 1 => P--X--\n\n",
     {3, 7, 8}},
    {"mmap 0 4 rw anon private => ok # mapped\nwrite 0 =7#no space\npagemap 0 1 => P--X-- #x\n",
     {1, 2, 3}},
    {"mmap 0 4 rw anon private #=> err EINVAL\n", {1}},  // the result is in the comment
    {"mmap 0 4 rw anon private => ok\r\nwrite 0 =7\r\npagemap 0 1 => P--X--\r\n", {1, 2, 3}},
    {"\r\nmmap 0 4 rw anon private => ok\r\n\r\nwrite 0 =7 # c\r\npagemap 0 1 => P--X--", {2, 4, 5}},
    {"mmap\t0\t4\trw\tanon\tprivate\t=>\tok\n\twrite 0\t=7\t\npagemap 0 1 =>\tP--X--\t\n", {1, 2, 3}},
    {"   mmap  0   4 rw  anon   private   =>   ok   \n  write 0 =7\npagemap 0 1 => P--X--   ", {1, 2, 3}},
    {"mmap 0 0x4 rw anon private => ok\nwrite 0x0 =0x7\npagemap 0x0 0x1 => P--X--\n", {1, 2, 3}},
};

class Layout : public testing::TestWithParam<LayoutCase> {};

TEST_P(Layout, Ignored) {
  const LayoutCase& c = GetParam();
  Program p;
  TextError e;
  ASSERT_TRUE(ParseProgram(c.text, "t", &p, &e)) << e.ToString();
  EXPECT_EQ(p.lines, c.lines);
  std::string want = kLayoutCanonical;
  if (c.lines.size() == 1) want = "mmap 0 4 rw anon private\n";
  EXPECT_EQ(PrintProgram(p), want);
}

INSTANTIATE_TEST_SUITE_P(Text, Layout, testing::ValuesIn(kLayoutCases));

TEST(Layout, EmptyAndCommentOnly) {
  for (const char* text : {"", "\n", "\n\n\n", "# only a comment", "  \t \r\n#x\n", "#=> ok\n"}) {
    Program p;
    TextError e;
    ASSERT_TRUE(ParseProgram(text, "t", &p, &e)) << e.ToString();
    EXPECT_TRUE(p.ops.empty());
    EXPECT_EQ(PrintProgram(p), "");
  }
}

TEST(Layout, ColumnsCountTabsAndCarriageReturnsAsOneCharacter) {
  Program p;
  TextError e;
  ASSERT_FALSE(ParseProgram("write 0\r\n\twrite\t\tx\r\n", "t", &p, &e));
  EXPECT_EQ(e.line, 2);
  EXPECT_EQ(e.column, 9);
  EXPECT_EQ(e.token, "x");
}

// ---------------------------------------------------------------------------
// 6. WriteToken.

TEST(WriteToken, NonzeroWithoutByte) {
  Op op;
  op.kind = OpKind::kWrite;
  for (size_t i = 0; i <= 1000; i++) EXPECT_NE(WriteToken(op, i), 0) << i;
  // Consecutive writes are distinguishable.
  for (size_t i = 0; i + 1 <= 1000; i++) EXPECT_NE(WriteToken(op, i), WriteToken(op, i + 1)) << i;
}

TEST(WriteToken, EqualsTheByte) {
  for (int b : {0, 1, 0x41, 255}) {
    Op op;
    op.kind = OpKind::kFwrite;
    op.flags = kFlagHasByte;
    op.byte = static_cast<uint8_t>(b);
    for (size_t i = 0; i <= 1000; i++) ASSERT_EQ(WriteToken(op, i), b) << i;
  }
  Program p;
  TextError e;
  ASSERT_TRUE(ParseProgram("write 0 =0\nwrite 0\nfwrite 0 0 =9\n", "t", &p, &e)) << e.ToString();
  EXPECT_EQ(WriteToken(p.ops[0], 0), 0);
  EXPECT_NE(WriteToken(p.ops[1], 1), 0);
  EXPECT_EQ(WriteToken(p.ops[2], 2), 9);
}

}  // namespace
}  // namespace mmdiff
