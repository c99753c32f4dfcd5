// Where local executors run (TargetOptions::executor_on_one_cpu): each on
// one CPU of its own, in turn over the CPUs this process may use; or
// anywhere when asked.
#include <sched.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "target/target.h"

namespace mmdiff {
namespace {

// The Cpus_allowed_list of this process's children that are executors.
std::vector<std::string> ExecutorCpus() {
  std::vector<std::string> out;
  std::ifstream children("/proc/self/task/" + std::to_string(getpid()) + "/children");
  for (pid_t child; children >> child;) {
    std::ifstream comm("/proc/" + std::to_string(child) + "/comm");
    std::string name;
    if (!(comm >> name) || name.rfind("mmdiff-exec", 0) != 0) continue;
    std::ifstream status("/proc/" + std::to_string(child) + "/status");
    for (std::string line; std::getline(status, line);)
      if (line.rfind("Cpus_allowed_list:", 0) == 0) out.push_back(line.substr(line.find_first_not_of(" \t", 18)));
  }
  return out;
}

std::unique_ptr<Target> Started(bool one_cpu) {
  TargetOptions options;
  options.executor_path = MMDIFF_EXECUTOR_PATH;
  options.executor_on_one_cpu = one_cpu;
  std::string err;
  std::unique_ptr<Target> target = MakeLocalTarget(options, &err);
  EXPECT_TRUE(target) << err;
  KernelFeatures f;
  if (target) EXPECT_TRUE(target->Probe(&f, &err)) << err;  // started: it runs
  return target;
}

TEST(LocalTarget, EachExecutorOnACpuOfItsOwn) {
  cpu_set_t mine;
  ASSERT_EQ(sched_getaffinity(0, sizeof mine, &mine), 0);
  int n = CPU_COUNT(&mine);
  std::vector<std::unique_ptr<Target>> targets;
  for (int i = 0; i < n; i++) targets.push_back(Started(true));
  std::vector<std::string> cpus = ExecutorCpus();
  ASSERT_EQ(static_cast<int>(cpus.size()), n);
  for (int i = 0; i < n; i++) {
    EXPECT_EQ(cpus[i].find_first_of(",-"), std::string::npos) << "not one CPU: " << cpus[i];
    for (int j = 0; j < i; j++) EXPECT_NE(cpus[i], cpus[j]) << "two executors share CPU " << cpus[i];
  }
}

// Another mmdiff's executor (a campaign beside this one) on the first CPU:
// ours goes to another.
TEST(LocalTarget, TheExecutorsOfOtherProcessesCount) {
  cpu_set_t mine;
  ASSERT_EQ(sched_getaffinity(0, sizeof mine, &mine), 0);
  if (CPU_COUNT(&mine) < 2) GTEST_SKIP() << "one CPU: nowhere else to go";
  int first = 0;
  while (!CPU_ISSET(first, &mine)) first++;
  // Its parent is a shell, not this process; its stdin stays open while
  // the sleep runs.
  std::string command = "sleep 60 | exec " + std::string(MMDIFF_EXECUTOR_PATH) + " serve --cpu " +
                        std::to_string(first);
  pid_t shell = fork();
  if (shell == 0) {
    setpgid(0, 0);
    execl("/bin/sh", "sh", "-c", command.c_str(), static_cast<char*>(nullptr));
    _exit(127);
  }
  ASSERT_GT(shell, 0);
  // The shell's group (it, the sleep, the executor) ends with the test; the
  // executor cleans up on SIGTERM.
  struct Group {
    pid_t leader;
    ~Group() {
      kill(-leader, SIGTERM);
      waitpid(leader, nullptr, 0);
    }
  } group{shell};
  // Until it runs on that CPU.
  bool seen = false;
  for (int i = 0; i < 500 && !seen; i++, usleep(10000)) {
    std::ifstream children("/proc/" + std::to_string(shell) + "/task/" + std::to_string(shell) + "/children");
    for (pid_t child; children >> child;) {
      std::ifstream status("/proc/" + std::to_string(child) + "/status");
      for (std::string line; std::getline(status, line);)
        seen |= line.rfind("Cpus_allowed_list:", 0) == 0 && line.find_first_of(",-", 18) == std::string::npos &&
                line.find("mmdiff") == std::string::npos && line.find(std::to_string(first)) != std::string::npos;
    }
  }
  ASSERT_TRUE(seen) << "the other executor did not start on CPU " << first;
  std::unique_ptr<Target> target = Started(true);
  std::vector<std::string> cpus = ExecutorCpus();
  ASSERT_EQ(cpus.size(), 1u);
  EXPECT_NE(cpus[0], std::to_string(first));
}

TEST(LocalTarget, AnExecutorOnAnyCpuWhenAsked) {
  cpu_set_t mine;
  ASSERT_EQ(sched_getaffinity(0, sizeof mine, &mine), 0);
  if (CPU_COUNT(&mine) < 2) GTEST_SKIP() << "one CPU: any is one";
  std::unique_ptr<Target> target = Started(false);
  std::vector<std::string> cpus = ExecutorCpus();
  ASSERT_EQ(cpus.size(), 1u);
  EXPECT_NE(cpus[0].find_first_of(",-"), std::string::npos) << cpus[0];
}

}  // namespace
}  // namespace mmdiff
