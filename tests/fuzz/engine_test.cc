// The engines' entry points (fuzz/engines/harness.cc, engine.cc), compiled
// into an ordinary test binary: what libFuzzer and AFL++ would call, called
// directly, with the main build's executor on the running kernel.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <csignal>
#include <cstdlib>
#include <map>
#include <regex>
#include <string>

#include <cstdint>
#include <vector>

#include "cli/targets.h"
#include "tests/fuzz/engine_child.h"
#include "fuzz/engines/engine.h"
#include "fuzz/generator.h"
#include "prog/binary.h"
#include "prog/text.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);
extern "C" size_t LLVMFuzzerCustomMutator(uint8_t* data, size_t size, size_t max_size, unsigned int seed);
extern "C" size_t LLVMFuzzerCustomCrossOver(const uint8_t* data1, size_t size1, const uint8_t* data2, size_t size2,
                                            uint8_t* out, size_t max_out_size, unsigned int seed);

namespace mmdiff {
namespace {

const char* kSimple =
    "mmap 0 4 rw anon private\n"
    "write 0\n"
    "read 1\n"
    "pagemap 0 4\n";

TEST(EngineTest, RunsAnEncodedProgramOnTheKernel) {
  std::vector<uint8_t> in = Encoded(kSimple);
  EXPECT_EQ(LLVMFuzzerTestOneInput(in.data(), in.size()), 0);
  EXPECT_FALSE(engine::EngineKernel().profile.release.empty());
}

TEST(EngineTest, RejectsWhatDoesNotDecode) {
  const uint8_t junk[] = {0xff, 0xff, 0xff, 0xff, 0x7f, 0x01, 0x02};
  EXPECT_EQ(LLVMFuzzerTestOneInput(junk, sizeof(junk)), -1);
  std::vector<uint8_t> big(engine::kMaxInputBytes + 1, 0);
  EXPECT_EQ(LLVMFuzzerTestOneInput(big.data(), big.size()), -1);
}

TEST(EngineTest, TheEmptyInputIsAGeneratedProgramRunInAForkedChild) {
  // In a child (as under AFL++'s fork server): it starts its own executor.
  // The generated program may diverge on this kernel: a finding (abort with
  // the one-line report), not a failure of the entry point.
  for (size_t size : {0, 1}) {
    const uint8_t nl = '\n';
    pid_t pid = fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) _exit(LLVMFuzzerTestOneInput(&nl, size) == 0 ? 0 : 3);
    int status = 0;
    ASSERT_EQ(waitpid(pid, &status, 0), pid);
    EXPECT_TRUE((WIFEXITED(status) && WEXITSTATUS(status) == 0) || (WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT))
        << "status " << status;
  }
}

// Under dontneed-keeps-anon the model keeps page 0 after MADV_DONTNEED;
// every kernel zaps it.
const char* kDontneed =
    "mmap 0 4 rw anon private\n"
    "write 0\n"
    "madvise 0 4 dontneed\n"
    "pagemap 0 4\n";

TEST(EngineTest, TheEnvironmentChoosesTheTargetAsTheFlagsWould) {
  static std::map<std::string, std::string> env;
  env = {{"MMDIFF_GUEST", "6.1"},         {"MMDIFF_MODEL_MUTANT", "fork-drops-uffd-wp"},
         {"MMDIFF_NO_QUIRKS", "1"},       {"MMDIFF_PIN_FAULT_AROUND", "0"},
         {"MMDIFF_TIMEOUT", "900"},       {"MMDIFF_APPEND", ""}};
  cli::Args args = cli::TargetArgsFromEnvironment([](const char* name) -> const char* {
    auto it = env.find(name);
    return it == env.end() ? nullptr : it->second.c_str();
  });
  EXPECT_EQ(args.Get("guest"), "6.1");
  EXPECT_EQ(cli::TargetName(args), "qemu");  // --guest implies it, as on the command line
  EXPECT_EQ(args.Get("model-mutant"), "fork-drops-uffd-wp");
  EXPECT_TRUE(args.Has("no-quirks"));
  EXPECT_FALSE(args.Has("pin-fault-around"));  // "0" is off
  EXPECT_EQ(args.values.count("append"), 0u);  // "" is unset
  TargetOptions o;
  std::string err;
  ASSERT_TRUE(cli::TargetOptionsFromArgs(args, &o, &err)) << err;
  EXPECT_EQ(o.program_timeout_ms, 900);
  EXPECT_EQ(o.guest, "6.1");
  EXPECT_EQ(cli::TargetEnvName("memory-max"), "MMDIFF_MEMORY_MAX");
}

TEST(EngineTest, AModelMutantFromTheEnvironmentMakesTheBrokenRuleACrash) {
  std::vector<uint8_t> in = Encoded(kDontneed);
  std::string err;
  int status = RunInChild(in, {{"MMDIFF_MODEL_MUTANT", "dontneed-keeps-anon"}}, &err);
  ASSERT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT) << "status " << status << "\n" << err;
  EXPECT_EQ(err.rfind("DIVERGENCE ", 0), 0u) << err;  // the one-line report first
  // The real model: the kernel is right.
  err.clear();
  status = RunInChild(in, {}, &err);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "status " << status << "\n" << err;
}

TEST(EngineTest, ABadChoiceInTheEnvironmentIsOneLineAndStatusTwo) {
  std::vector<uint8_t> in = Encoded(kSimple);
  for (const auto& [k, v] : std::map<std::string, std::string>{{"MMDIFF_MODEL_MUTANT", "no-such-rule"},
                                                               {"MMDIFF_TARGET", "model"},
                                                               {"MMDIFF_GUEST", "5.4"},
                                                               {"MMDIFF_TIMEOUT", "soon"}}) {
    std::string err;
    int status = RunInChild(in, {{k, v}}, &err);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 2) << k << "=" << v << ": status " << status << "\n"
                                                               << err;
    EXPECT_TRUE(std::regex_match(err, std::regex("mmdiff-engine: [^\n]+\n"))) << k << "=" << v << ": " << err;
  }
}

TEST(EngineTest, CustomMutatorProducesValidPrograms) {
  std::vector<uint8_t> buf(4096);
  std::vector<uint8_t> in = Encoded(kSimple);
  std::copy(in.begin(), in.end(), buf.begin());
  size_t size = in.size();
  for (unsigned seed = 1; seed <= 200; seed++) {
    size = LLVMFuzzerCustomMutator(buf.data(), size, buf.size(), seed);
    ASSERT_GT(size, 0u);
    Program p;
    ASSERT_TRUE(DecodeProgram({buf.data(), size}, &p)) << "seed " << seed;
    ASSERT_FALSE(Validate(p).has_value());
    ASSERT_LE(p.ops.size(), engine::kMaxOps);
  }
  // Junk becomes a generated program.
  std::vector<uint8_t> junk = {0xff, 0xff, 0xff};
  junk.resize(4096);
  size = LLVMFuzzerCustomMutator(junk.data(), 3, junk.size(), 7);
  Program p;
  ASSERT_TRUE(DecodeProgram({junk.data(), size}, &p));
  EXPECT_GE(p.ops.size(), 5u);
}

TEST(EngineTest, MutateEncodedRespectsMaxSizeAndIsDeterministic) {
  Mutator m(HostProfile618());
  engine::Recent recent;
  GeneratorOptions g;
  g.profile = HostProfile618();
  g.min_ops = 40;
  std::vector<uint8_t> in = EncodeProgram(Generator(g).Generate(3));
  std::vector<uint8_t> out(4096);
  int which = -1;
  size_t small = engine::MutateEncoded(&m, &recent, in, {}, out.data(), 64, 5, &which);
  ASSERT_GT(small, 0u);
  ASSERT_LE(small, 64u);
  Program p;
  ASSERT_TRUE(DecodeProgram({out.data(), small}, &p));
  EXPECT_FALSE(Validate(p).has_value());

  Mutator m2(HostProfile618());
  engine::Recent r1, r2;
  std::vector<uint8_t> a(4096), b(4096);
  size_t na = engine::MutateEncoded(&m2, &r1, in, {}, a.data(), a.size(), 99, &which);
  size_t nb = engine::MutateEncoded(&m2, &r2, in, {}, b.data(), b.size(), 99, &which);
  EXPECT_EQ(std::vector<uint8_t>(a.begin(), a.begin() + na), std::vector<uint8_t>(b.begin(), b.begin() + nb));
}

TEST(EngineTest, CrossOverSplices) {
  std::vector<uint8_t> x = Encoded(kSimple);
  std::vector<uint8_t> y = Encoded(
      "mmap 100 8 rw anon private\n"
      "write 100\n"
      "clear_refs 4\n"
      "write 101\n"
      "pagemap 100 8\n");
  std::vector<uint8_t> out(4096);
  int made = 0;
  for (unsigned seed = 0; seed < 20; seed++) {
    size_t n = LLVMFuzzerCustomCrossOver(x.data(), x.size(), y.data(), y.size(), out.data(), out.size(), seed);
    if (!n) continue;
    made++;
    Program p;
    ASSERT_TRUE(DecodeProgram({out.data(), n}, &p));
    EXPECT_FALSE(Validate(p).has_value());
  }
  EXPECT_GT(made, 10);
}

}  // namespace
}  // namespace mmdiff
