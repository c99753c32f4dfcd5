#include "cli/targets.h"

#include <cstdio>
#include <cctype>
#include <cstdlib>

#include "model/mutant.h"
#include "prog/text.h"

namespace mmdiff::cli {

const char kTargetFlagsHelp[] =
    "  --target T     where programs run: local (the running kernel; default),\n"
    "                 qemu (a guest; default when --guest or --kernel is given),\n"
    "                 model\n"
    "  --guest G      the guest's Debian cloud kernel, fetched with apt-get download\n"
    "                 and cached in ~/.cache/mmdiff: 6.12 (default; soft-dirty,\n"
    "                 uffd-wp with WP_ASYNC, PAGEMAP_SCAN: every mechanism but guard\n"
    "                 regions) or 6.1 (soft-dirty and sync uffd-wp, no PAGEMAP_SCAN);\n"
    "                 implies --target qemu\n"
    "  --kernel K     boot this bzImage instead of a Debian kernel (its drivers\n"
    "                 built in); implies --target qemu\n"
    "  --append A     extra guest kernel command-line options; implies --target qemu\n"
    "  --swap MiB     give the guest a zram swap device of this size (its kernel\n"
    "                 needs zram), so that madvise pageout makes swap entries and\n"
    "                 the probe says swap: yes; implies --target qemu. Experimental:\n"
    "                 the model's swap rules are incomplete (pageout of a page once\n"
    "                 shared, swap-in under uffd-wp), so a campaign with swap reports\n"
    "                 divergences that are the model's gaps, not kernel bugs\n"
    "  --khugepaged   let the guest's khugepaged scan without pause, with the\n"
    "                 kernel's own limits, so that it collapses pages under the\n"
    "                 programs (the checker allows it: khugepaged-may-collapse);\n"
    "                 implies --target qemu. Default: tamed (it could collapse\n"
    "                 only fully mapped ranges, seldom). The local kernel's\n"
    "                 khugepaged is left as it is, its collapses allowed too\n"
    "  --channel C    how mmdiff and a guest's executor exchange messages: serial\n"
    "                 (the virtio-serial port; default) or shm (a region of shared\n"
    "                 memory, QEMU's ivshmem device backed by a file in /dev/shm,\n"
    "                 the port ringing a doorbell). Equally fast under TCG in\n"
    "                 bench/throughput; a guest kernel that cannot map the region\n"
    "                 uses the port and says so on its console. Implies --target qemu\n"
    "  --timeout MS   a program that makes no progress for MS ms (no op completes,\n"
    "                 no page fault) is killed and reported as a hang (default\n"
    "                 5000); one still progressing gets 4 x MS, then its verdict\n"
    "                 is LIMIT time, not a hang\n"
    "  --memory-max MiB  cap on a program's memory on the local kernel (a memory\n"
    "                 cgroup of the executor's own, else RLIMIT_AS; default 1024);\n"
    "                 a program that hits it gets the verdict LIMIT\n"
    "                 memory, not a divergence. In a guest: 3/4 of its RAM\n"
    "  --profile P    the model's kernel profile: host618 or guest61 (default:\n"
    "                 measured on the target; the local kernel for --target model)\n"
    "  --model-mutant NAME  check against a model with one rule broken on purpose\n"
    "                 (a self-test of the pipeline): NAMEs are listed by 'mmdiff fuzz --help'\n"
    "  --pin-fault-around  (local) pin the system-wide fault_around_bytes to 4096\n"
    "                 while the executor runs, so that the model predicts read\n"
    "                 faults of file mappings exactly; restored when it ends (by\n"
    "                 the next executor after a crash). Default: left alone, and\n"
    "                 the model allows what fault-around may map. Guests always pin\n"
    "  MMDIFF_ACCEL=kvm in the environment runs guests with KVM instead of TCG\n"
    "  The libFuzzer and AFL++ engines (build/engines/) take these flags from the\n"
    "  environment: MMDIFF_TARGET, MMDIFF_GUEST, MMDIFF_KERNEL, MMDIFF_APPEND,\n"
    "  MMDIFF_MODEL_MUTANT, ... (MMDIFF_ and the flag in capitals; a switch is\n"
    "  on when set to anything but 0: MMDIFF_NO_QUIRKS=1); fuzz/README.md\n";

std::set<std::string> TargetValueFlags() {
  return {"target",  "guest",   "kernel",     "append",  "swap",
          "channel", "timeout", "memory-max", "profile", "model-mutant"};
}

std::set<std::string> TargetSwitchFlags() { return {"pin-fault-around", "khugepaged"}; }

std::string TargetEnvName(const std::string& flag) {
  std::string name = "MMDIFF_";
  for (char c : flag) name += c == '-' ? '_' : static_cast<char>(toupper(static_cast<unsigned char>(c)));
  return name;
}

Args TargetArgsFromEnvironment(const char* (*getenv_fn)(const char*)) {
  if (!getenv_fn) getenv_fn = [](const char* name) -> const char* { return getenv(name); };
  Args args;
  std::set<std::string> values = TargetValueFlags(), switches = TargetSwitchFlags();
  switches.insert("no-quirks");  // a flag of the judging commands, not of every target
  for (const std::string& flag : values)
    if (const char* v = getenv_fn(TargetEnvName(flag).c_str()); v && *v) {
      args.values[flag] = v;
      args.ordered.push_back({flag, v});
    }
  for (const std::string& flag : switches)
    if (const char* v = getenv_fn(TargetEnvName(flag).c_str()); v && *v && std::string(v) != "0")
      args.switches.insert(flag);
  return args;
}

std::string TargetName(const Args& args) {
  bool guest_flags = args.values.count("guest") || !args.Get("kernel").empty() || !args.Get("append").empty() ||
                     args.values.count("swap") || args.values.count("channel") || args.Has("khugepaged");
  return args.Get("target", guest_flags ? "qemu" : "local");
}

bool TargetOptionsFromArgs(const Args& args, TargetOptions* out, std::string* err) {
  if (!args.GetInt("timeout", 5000, &out->program_timeout_ms, err)) return false;
  if (!args.GetInt("memory-max", 1024, &out->program_memory_mb, err)) return false;
  out->kernel = args.Get("kernel");
  out->guest = args.Get("guest");
  if (args.values.count("guest") && out->guest != "6.12" && out->guest != "6.1") {
    *err = "unknown guest '" + out->guest + "' (known: 6.12, 6.1)";
    return false;
  }
  if (!out->guest.empty() && !out->kernel.empty()) {
    *err = "--guest and --kernel both choose the guest kernel: give one";
    return false;
  }
  out->append = args.Get("append");
  if (!args.GetInt("swap", 0, &out->swap_mb, err)) return false;
  if (out->swap_mb < 0 || out->swap_mb > 4096) {
    *err = "--swap " + std::to_string(out->swap_mb) + ": give a size in MiB from 1 to 4096";
    return false;
  }
  if (std::string c = args.Get("channel", "serial"); c == "shm") {
    out->channel = GuestChannel::kShm;
  } else if (c == "serial") {
    out->channel = GuestChannel::kSerial;
  } else {
    *err = "unknown channel '" + c + "' (known: shm, serial)";
    return false;
  }
  out->pin_fault_around = args.Has("pin-fault-around");
  out->khugepaged = args.Has("khugepaged");
  const char* accel = getenv("MMDIFF_ACCEL");
  out->kvm = accel && std::string(accel) == "kvm";
  return true;
}

std::unique_ptr<Target> OpenTarget(const Args& args, std::string* err, const TargetOptions& base) {
  TargetOptions options = base;
  if (!TargetOptionsFromArgs(args, &options, err)) return nullptr;
  std::string name = TargetName(args);
  if (options.swap_mb > 0 && name != "qemu") {
    *err = "--swap gives a guest a swap device: it needs --target qemu (this machine's swap is its own)";
    return nullptr;
  }
  if (args.values.count("channel") && name != "qemu") {
    *err = "--channel chooses how a guest's executor talks to mmdiff: it needs --target qemu";
    return nullptr;
  }
  if (options.khugepaged && name != "qemu") {
    *err = "--khugepaged sets a guest's khugepaged: it needs --target qemu (this machine's is left alone)";
    return nullptr;
  }
  // The model needs a kernel's profile: it asks the local one.
  if (name == "local" || name == "model") return MakeLocalTarget(options, err);
  if (name == "qemu") return MakeQemuTarget(options, err);
  *err = "unknown target '" + name + "' (known: local, qemu, model)";
  return nullptr;
}

bool OpenPool(const Args& args, TargetPool* pool, std::string* err, const TargetOptions& base) {
  int n;
  if (!args.GetInt("vms", 1, &n, err)) return false;
  if (args.values.count("vms") && TargetName(args) != "qemu") {
    *err = "--vms needs --target qemu";
    return false;
  }
  return pool->Start([&args, base](std::string* e) { return OpenTarget(args, e, base); }, n, err);
}

bool ProfileFor(const Args& args, Target* target, KernelProfile* out, std::string* err) {
  std::string name = args.Get("profile");
  if (name == "host618") *out = HostProfile618();
  else if (name == "guest61") *out = GuestProfile61();
  else if (!name.empty()) {
    *err = "unknown profile '" + name + "' (known: host618, guest61)";
    return false;
  } else {
    KernelFeatures features;
    if (!target->Probe(&features, err)) return false;
    *out = MakeProfile(features);
  }
  if (args.Has("no-quirks")) out->quirks = {};
  if (args.values.count("model-mutant")) {
    auto mutant = MutantByName(args.Get("model-mutant"));
    if (!mutant) {
      *err = "unknown model mutant '" + args.Get("model-mutant") + "' (see mmdiff fuzz --help)";
      return false;
    }
    out->mutant = mutant->mutant;
    if (uint32_t missing = mutant->needs & ~out->features)
      fprintf(stderr, "mmdiff: warning: model mutant %s needs %s, which this kernel lacks: it cannot diverge here\n",
              mutant->name, FeatureList(missing).c_str());
  }
  return true;
}

}  // namespace mmdiff::cli
