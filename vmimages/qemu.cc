#include "vmimages/qemu.h"

#include <unistd.h>

namespace mmdiff::vm {
namespace {

// qboot (QEMU's minimal firmware, in Debian's qemu-system-data): it sets up
// PCI and jumps to the -kernel image, where SeaBIOS spends a few hundred ms
// under TCG on POST, option ROMs and its boot menu. Absent, SeaBIOS it is.
constexpr const char* kQboot = "/usr/share/qemu/qboot.rom";

// Boot-time work the guest never needs, measured with initcall_debug on the
// Debian 6.12 cloud kernel under TCG (a kernel without one of these ignores
// it): cryptomgr.notests skips the crypto self-tests run as each algorithm
// registers; jent_mod_init spends ~0.3 s sampling CPU jitter for an entropy
// source only FIPS mode requires; the two BPF initcalls parse the kernel's
// whole BTF (~0.5 s) to register kfuncs for BPF TCP congestion control and
// struct_ops tests; sed_opal_init sets up a keyring for self-encrypting
// drives; crypto_kdf108_init only self-tests a key derivation function;
// trace_eval_init rewrites enum names in trace event formats (tracefs
// output only); init_encrypted registers the "encrypted" key type. The guest
// has no network card: ipv6.disable=1 skips most of inet6_init. None of them
// touches memory management. Together: about 0.5 s of a 1.9 s boot to /init.
// A second round (initcall_debug, printk times, sched_switch and workqueue
// trace events on the console):
// ftrace_check_for_weak_functions queues ~50 ms of kallsyms lookups over
// every mcount site (kernel/trace/ftrace.c test_for_valid_rec()), meant to
// run beside the boot on another CPU; with one CPU it preempts the initcalls
// instead, and only function tracing reads the flag it sets. cmos_init
// probes the RTC for /dev/rtc0 (~16 ms; the boot reads the time of day
// without it, arch/x86/kernel/rtc.c mach_get_cmos_time()), dmi_sysfs_init
// fills /sys/firmware/dmi/entries (~9 ms), init_acpi_pm_clocksource
// verifies the ACPI PM timer by reading it in a loop (~11 ms; the
// clocksource is the TSC, watched by the HPET), vga_arb_device_init looks
// for VGA cards there are none of, and packet_init (AF_PACKET) and
// strp_dev_init (kTLS/KCM stream parser) are network the guest has not.
// The PS/2 keyboard stays (the monitor's `sendkey alt-sysrq-c` panics a
// guest through it, tests/campaign/fault_test.cc), but i8042.noaux skips
// probing the mouse port: i8042_init ~25 ms -> ~4 ms. 8250.nr_uarts=2: ttyS0
// (console) and ttyS1 (channel fallback) are all there is; serial8250_init
// would probe four. Kept though slow: param_sysfs_builtin_init (~30 ms), as
// /sys/module/*/parameters holds memory management knobs of built-in code
// (zswap, kfence, page_reporting).
// noreplace-smp: on one CPU, alternative_instructions()
// (arch/x86/kernel/alternative.c) turns every LOCK prefix of the kernel
// into a DS prefix, ~10k text_poke() calls that each switch to the
// poking mm and back (__text_poke(): two CR3 writes, each of which empties
// TCG's software TLB): ~0.2 s under TCG. On one CPU the prefix changes
// nothing but speed, and TCG with one vCPU emits no atomics for it anyway.
// no_timer_check: check_timer() (arch/x86/kernel/apic/io_apic.c) waits ~20
// ms for ten timer interrupts to prove the IO-APIC routing, which QEMU's is.
constexpr const char* kSkipAtBoot =
    " cryptomgr.notests ipv6.disable=1 noreplace-smp no_timer_check 8250.nr_uarts=2 i8042.noaux"
    " initcall_blacklist=jent_mod_init,bpf_tcp_ca_kfunc_init,bpf_dummy_struct_ops_init,sed_opal_init,"
    "crypto_kdf108_init,trace_eval_init,init_encrypted,ftrace_check_for_weak_functions,cmos_init,"
    "dmi_sysfs_init,init_acpi_pm_clocksource,vga_arb_device_init,packet_init,strp_dev_init";

// noapictimer, under TCG only: with no TSC deadline timer (TCG offers none)
// and no CPUID leaf 0x15, calibrate_APIC_clock()
// (arch/x86/kernel/apic/apic.c) spins 100 ms (HZ/10 ticks) to measure the
// local APIC timer. With one CPU the tick can come from the HPET instead,
// which needs no calibration. Under KVM the deadline timer skips the
// calibration and the HPET would cost an exit to QEMU per timer, so there
// the APIC timer stays.
constexpr const char* kTcgSkipAtBoot = " noapictimer";

}  // namespace

std::vector<std::string> QemuCommand(const VmConfig& c) {
  // panic=-1: reboot at once on a panic, and -no-reboot turns that into QEMU
  // exiting, which the host sees. loglevel=5 keeps KERN_WARNING (WARNING:
  // splats) on the console but not the boot chatter a serial port pays for.
  // hugepages=8: a small hugetlb pool (16 MiB) so hugetlb programs run.
  std::string append =
      "console=ttyS0 loglevel=5 panic=-1 mitigations=off hugepages=8 mmdiff.chan=/dev/ttyS1";
  append += kSkipAtBoot;
  if (!c.kvm) append += kTcgSkipAtBoot;
  if (!c.append.empty()) append += " " + c.append;
  std::vector<std::string> command = {
      "qemu-system-x86_64",
      "-machine", c.kvm ? "q35,accel=kvm" : "q35,accel=tcg,memory-backend=ram",
      "-cpu", c.kvm ? "host" : "max",
      "-m", std::to_string(c.memory_mb),
      "-smp", "1",
      "-nodefaults", "-no-user-config", "-display", "none", "-no-reboot",
      "-kernel", c.kernel,
      "-initrd", c.initramfs,
      "-append", append,
      "-chardev", "stdio,id=con,signal=off",
      "-serial", "chardev:con",
      "-chardev", "socket,id=chan,path=" + c.serial_socket,
      "-serial", "chardev:chan",
      "-device", "virtio-serial-pci,id=vser",
      "-chardev", "socket,id=vchan,path=" + c.virtio_socket,
      "-device", "virtserialport,bus=vser.0,chardev=vchan,name=mmdiff.0",
  };
  // cache=unsafe: the disk lives as long as the guest; nothing to flush.
  std::string drive = "file=" + c.scratch_disk + ",format=raw,cache=unsafe";
  if (c.scratch_nvme)
    command.insert(command.end(), {"-drive", drive + ",if=none,id=scratch", "-device", "nvme,drive=scratch,serial=mmdiff"});
  else
    command.insert(command.end(), {"-drive", drive + ",if=virtio"});
  // share=on: the guest's stores reach the file (MAP_SHARED), where the
  // host's mapping sees them. ivshmem-plain: the region as BAR2, no
  // interrupts (the doorbell is the virtio-serial port's).
  if (!c.shm_region.empty())
    command.insert(command.end(), {"-object",
                                   "memory-backend-file,id=mmdiffshm,share=on,mem-path=" + c.shm_region +
                                       ",size=" + std::to_string(c.shm_region_bytes),
                                   "-device", "ivshmem-plain,memdev=mmdiffshm"});
  if (access(kQboot, R_OK) == 0) command.insert(command.end(), {"-bios", kQboot});
  if (!c.monitor_socket.empty())
    command.insert(command.end(), {"-monitor", "unix:" + c.monitor_socket + ",server=on,wait=off"});
  // Guest RAM in a memfd under TCG. QEMU madvises anonymous guest RAM
  // MADV_HUGEPAGE, and with the host's THP "madvise" the first touch of
  // each 2 MiB of it zeroes a fresh huge page on the vCPU's thread: the
  // host's clear_page_erms was 13-18% of QEMU's CPU samples up to /init's
  // "serving" line (perf record; a 2-core host that is itself a VM), 3-8%
  // with a memfd, which is shmem and so left to 4K pages by THP's default
  // shmem_enabled "never". Start to first result, seven alternating pairs:
  // anonymous 2.04-2.43 s (median 2.16), memfd 1.78-2.43 s (median 1.88);
  // programs/s alike. Disabling THP for all of QEMU (PR_SET_THP_DISABLE)
  // gained as much at boot but cost ~10% programs/s: its TCG code buffer
  // wants huge pages. Under KVM, huge pages of guest RAM back the guest's
  // own mappings (EPT): anonymous it stays.
  if (!c.kvm)
    command.insert(command.end(),
                   {"-object", "memory-backend-memfd,id=ram,size=" + std::to_string(c.memory_mb) + "M"});
  return command;
}

}  // namespace mmdiff::vm
