// Fault injection: a campaign on two QEMU guests survives one guest's QEMU
// killed (SIGKILL), another stopped (SIGSTOP, until the campaign's hang
// detection replaces it) and a guest kernel panicked (sysrq 'c' sent as a
// key press through QEMU's monitor; the guest boots with
// sysrq_always_enabled). The three faults hit two guests, one after
// another where they share one, since three guests are too heavy for the
// two cores here. Nothing on disk before the faults is lost, stats.json
// counts the restarts, the faults from outside are no findings, and a
// resumed campaign continues the counts.
#include <dirent.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <functional>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "tests/campaign/campaign_util.h"
#include "tests/qemu_monitor.h"
#include "tests/scoped_child.h"
#include "tests/temp_dir.h"

namespace {

using namespace campaigntest;

std::set<std::string> Entries(const std::string& dir) {
  std::vector<std::string> names = List(dir);
  return {names.begin(), names.end()};
}

// The campaign's QEMU processes: children of any of its threads.
std::vector<pid_t> Guests(pid_t campaign) {
  std::vector<pid_t> out;
  std::string tasks = "/proc/" + std::to_string(campaign) + "/task";
  for (const std::string& tid : List(tasks)) {
    std::ifstream in(tasks + "/" + tid + "/children");
    pid_t child;
    while (in >> child)
      if (Slurp("/proc/" + std::to_string(child) + "/comm").rfind("qemu-system", 0) == 0) out.push_back(child);
  }
  return out;
}

size_t Count(const std::string& text, const std::string& what) {
  size_t n = 0;
  for (size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) n++;
  return n;
}

// Polls `done` every 200 ms for up to `seconds`.
bool WaitFor(const std::function<bool()>& done, int seconds) {
  auto end = std::chrono::steady_clock::now() + std::chrono::seconds(seconds);
  while (std::chrono::steady_clock::now() < end) {
    if (done()) return true;
    usleep(200 * 1000);
  }
  return done();
}

TEST(CampaignFaults, KilledStoppedAndPanickedGuests) {
  // Declared before the campaign's guard: removed after the campaign ended.
  mmdiff::testutil::TempDir tmp{"faults"};
  std::string out = tmp.path("campaign"), log = tmp.path("campaign.log");
  pid_t campaign = StartMmdiff({"fuzz", "--target", "qemu", "--vms", "2", "--no-minimize", "--timeout", "1000",
                                "--append", "sysrq_always_enabled", "--out", out},
                               log, log);
  // A failed assertion must not leave the campaign and its guests running
  // (they would slow every later test down): stop it on the way out, as
  // Ctrl-C would (its guests shut down, their files removed).
  mmdiff::testutil::ScopedChild stop_on_exit(campaign, SIGINT);
  auto booted = [&] { return Count(Slurp(log), "booted in"); };
  // The second guest boots once the first has triaged the seed programs:
  // under TCG on a loaded machine that can take more than a minute.
  ASSERT_TRUE(WaitFor([&] { return booted() >= 2 && JsonNumber(Slurp(out + "/stats.json"), "execs") > 0; }, 120))
      << Slurp(log);
  std::vector<pid_t> guests = Guests(campaign);
  ASSERT_EQ(guests.size(), 2u) << Slurp(log);

  // What is on disk before the faults must be there after them.
  std::set<std::string> before;
  for (const char* sub : {"corpus", "findings", "flaky"})
    for (const std::string& f : Entries(out + "/" + sub)) before.insert(std::string(sub) + "/" + f);
  ASSERT_FALSE(before.empty());

  pid_t killed = guests[0], stopped = guests[1];
  ASSERT_EQ(kill(killed, SIGKILL), 0);
  ASSERT_EQ(kill(stopped, SIGSTOP), 0);
  // The killed guest is replaced; panic its replacement while the other is
  // still stopped.
  pid_t panicked = 0;
  ASSERT_TRUE(WaitFor(
      [&] {
        if (booted() < 3) return false;
        for (pid_t g : Guests(campaign))
          if (g != killed && g != stopped) panicked = g;
        return panicked != 0;
      },
      60))
      << Slurp(log);
  ASSERT_TRUE(qemutest::SendMonitor(panicked, "sendkey alt-sysrq-c\n")) << qemutest::MonitorSocket(panicked);
  // The stopped guest is found hung and killed; the panic is a kernel splat
  // the campaign re-runs (on a fresh guest) and files as flaky.
  // Generous limits: in the suite, other tests share the two cores, and the
  // panicked guest's program is re-run on a guest that must boot first.
  EXPECT_TRUE(WaitFor([&] { return kill(stopped, 0) != 0; }, 60)) << "the stopped guest was not replaced";
  EXPECT_TRUE(WaitFor([&] { return Slurp(log).find("sysrq") != std::string::npos; }, 90)) << Slurp(log);
  long long execs_after_faults = JsonNumber(Slurp(out + "/stats.json"), "execs");
  WaitFor([&] { return JsonNumber(Slurp(out + "/stats.json"), "execs") > execs_after_faults; }, 10);
  kill(campaign, SIGINT);
  int status;
  waitpid(campaign, &status, 0);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << Slurp(log);

  std::string stats = Slurp(out + "/stats.json");
  for (const std::string& f : before) EXPECT_EQ(access((out + "/" + f).c_str(), F_OK), 0) << f << " was lost";
  EXPECT_GE(JsonNumber(stats, "restarts"), 3) << stats;
  EXPECT_GT(JsonNumber(stats, "execs"), execs_after_faults) << "the campaign did not go on after the faults";
  EXPECT_EQ(JsonNumber(stats, "corpus"), static_cast<long long>(List(out + "/corpus").size())) << stats;
  EXPECT_EQ(JsonNumber(stats, "unique_signatures"), static_cast<long long>(List(out + "/findings").size()));
  EXPECT_EQ(JsonNumber(stats, "flaky"), static_cast<long long>(List(out + "/flaky").size()));
  // QEMU killed or stopped from outside is the harness's failure, not a
  // hang of the kernel under test; the panic did not reproduce.
  for (const char* sub : {"findings", "flaky"})
    for (const std::string& f : List(out + "/" + sub)) {
      std::string d = Slurp(out + "/" + sub + "/" + f + "/divergence.txt");
      EXPECT_EQ(d.find("stopped answering"), std::string::npos) << sub << "/" << f << ": " << d;
      if (std::string(sub) == "findings") EXPECT_EQ(d.find("sysrq"), std::string::npos) << f << ": " << d;
    }

  // Resumed (on the local kernel, to spare two more boots): execs continue.
  pid_t resumed = StartMmdiff({"fuzz", "--out", out, "--execs", "10", "--no-minimize"}, log, log);
  waitpid(resumed, &status, 0);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << Slurp(log);
  std::string again = Slurp(out + "/stats.json");
  EXPECT_EQ(JsonNumber(again, "execs"), JsonNumber(stats, "execs") + 10) << again;
  EXPECT_EQ(JsonNumber(again, "restarts"), JsonNumber(stats, "restarts")) << again;
}

}  // namespace
