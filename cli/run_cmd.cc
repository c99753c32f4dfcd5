// mmdiff run / mmdiff probe.
#include <cstdio>
#include <cstdlib>

#include "cli/args.h"
#include "cli/commands.h"
#include "prog/text.h"
#include "target/target.h"

namespace mmdiff::cli {
namespace {

const char kRunUsage[] =
    "usage: mmdiff run FILE.mmp [--target local] [--raw] [--timeout MS]\n"
    "\n"
    "Runs the program on the target and prints each op followed by ' => RESULT'.\n"
    "A result that differs from the program's own '=> EXPECTED' gets a\n"
    "'# expected: ...' comment, and the exit status is then 1.\n"
    "\n"
    "  --target T    where to run: local (the running kernel; default)\n"
    "  --raw         also print the raw 64-bit pagemap words\n"
    "  --timeout MS  a program still running after MS ms is killed and\n"
    "                reported as a hang (default 5000)\n"
    "\n"
    "A program whose 'requires' names a feature the kernel lacks is skipped\n"
    "(exit 0) with the missing feature named.\n";

const char kProbeUsage[] =
    "usage: mmdiff probe [--target local]\n"
    "\n"
    "Prints what the target kernel supports, measured by the executor:\n"
    "soft-dirty, uffd-wp and its async/unpopulated modes, PAGEMAP_SCAN and\n"
    "the categories it accepts, guard regions, THP mode, free huge pages, swap.\n";

std::unique_ptr<Target> OpenTarget(const Args& args, std::string* err) {
  TargetOptions options;
  if (!args.GetInt("timeout", 5000, &options.program_timeout_ms, err)) return nullptr;
  options.kernel = args.Get("kernel");
  options.append = args.Get("append");
  options.kvm = getenv("MMDIFF_ACCEL") && std::string(getenv("MMDIFF_ACCEL")) == "kvm";
  std::string name = args.Get("target", (args.Get("kernel").empty() ? "local" : "qemu"));
  if (name == "local") return MakeLocalTarget(options, err);
  if (name == "qemu") return MakeQemuTarget(options, err);
  *err = "unknown target '" + name + "' (known: local, qemu)";
  return nullptr;
}

}  // namespace

int RunCommand(int argc, char** argv) {
  Args args;
  std::string err;
  if (!ParseArgs(argc, argv, {"target", "timeout", "kernel", "append"}, {"raw"}, &args, &err)) {
    fprintf(stderr, "mmdiff run: %s\n%s", err.c_str(), kRunUsage);
    return 2;
  }
  if (args.Has("help")) {
    fputs(kRunUsage, stdout);
    return 0;
  }
  if (args.positional.size() != 1) {
    fprintf(stderr, "mmdiff run: expected one program file\n%s", kRunUsage);
    return 2;
  }
  const std::string& path = args.positional[0];
  Program prog;
  TextError text_err;
  if (!ParseProgramFile(path, &prog, &text_err)) {
    fprintf(stderr, "%s\n", text_err.ToString().c_str());
    return 2;
  }
  auto target = OpenTarget(args, &err);
  KernelFeatures features;
  if (!target || !target->Probe(&features, &err)) {
    fprintf(stderr, "mmdiff run: %s\n", err.c_str());
    return 2;
  }
  if (uint32_t missing = prog.Requires() & ~features.features) {
    printf("SKIP %s: needs %s, which kernel %s lacks\n", path.c_str(), FeatureList(missing).c_str(),
           features.release.c_str());
    return 0;
  }
  Trace trace;
  if (!target->Run(prog, &trace, &err)) {
    fprintf(stderr, "mmdiff run: %s: %s\n", path.c_str(), err.c_str());
    return 2;
  }
  int mismatches = 0;
  bool incomplete = false;
  for (size_t i = 0; i < prog.ops.size(); i++) {
    const Result& got = trace.results[i];
    std::string line = PrintOp(prog.ops[i]);
    if (got.kind != ResultKind::kNone) line += " => " + PrintResult(prog.ops[i], got, args.Has("raw"));
    const Result& want = prog.expect[i];
    if (want.kind != ResultKind::kNone && !ResultMatches(want, got)) {
      line += "  # expected: " + PrintResult(prog.ops[i], want);
      mismatches++;
    }
    incomplete |= got.kind == ResultKind::kHang || got.kind == ResultKind::kLost;
    printf("%s\n", line.c_str());
  }
  if (incomplete) fprintf(stderr, "mmdiff run: %s did not complete (see hang/lost above)\n", path.c_str());
  if (mismatches)
    fprintf(stderr, "mmdiff run: %s: %d result(s) differ from the program's expectations\n", path.c_str(),
            mismatches);
  return incomplete || mismatches ? 1 : 0;
}

int ProbeCommand(int argc, char** argv) {
  Args args;
  std::string err;
  if (!ParseArgs(argc, argv, {"target", "kernel", "append"}, {}, &args, &err)) {
    fprintf(stderr, "mmdiff probe: %s\n%s", err.c_str(), kProbeUsage);
    return 2;
  }
  if (args.Has("help")) {
    fputs(kProbeUsage, stdout);
    return 0;
  }
  if (!args.positional.empty()) {
    fprintf(stderr, "mmdiff probe: unexpected argument '%s'\n%s", args.positional[0].c_str(), kProbeUsage);
    return 2;
  }
  auto target = OpenTarget(args, &err);
  KernelFeatures features;
  if (!target || !target->Probe(&features, &err)) {
    fprintf(stderr, "mmdiff probe: %s\n", err.c_str());
    return 2;
  }
  fputs(PrintFeatures(features).c_str(), stdout);
  return 0;
}

}  // namespace mmdiff::cli
