#include "target/spawn.h"

#include <signal.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <cerrno>
#include <condition_variable>
#include <mutex>
#include <thread>

namespace mmdiff {
namespace {

// One request at a time; the objects are never destroyed, so the thread
// that waits on them may outlive static destruction at exit.
struct Spawner {
  std::mutex mu;
  std::condition_variable cv;
  const std::function<void()>* job = nullptr;  // the request being served
  pid_t pid = 0;
  int err = 0;
  bool done = false;

  Spawner() {
    std::thread([this] { Serve(); }).detach();
  }

  void Serve() {
    pid_t parent = getpid();
    std::unique_lock<std::mutex> lock(mu);
    for (;;) {
      cv.wait(lock, [this] { return job && !done; });
      pid = fork();
      err = errno;
      if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (getppid() != parent) _exit(1);  // the process died before prctl()
        (*job)();
        _exit(127);
      }
      done = true;
      cv.notify_all();
    }
  }
};

}  // namespace

pid_t ForkDyingWithProcess(const std::function<void()>& in_child) {
  static Spawner* spawner = new Spawner;  // leaked on purpose (see Spawner)
  static std::mutex one_at_a_time;
  std::lock_guard<std::mutex> serial(one_at_a_time);
  std::unique_lock<std::mutex> lock(spawner->mu);
  spawner->job = &in_child;
  spawner->done = false;
  spawner->cv.notify_all();
  spawner->cv.wait(lock, [&] { return spawner->done; });
  spawner->job = nullptr;
  errno = spawner->err;
  return spawner->pid;
}

}  // namespace mmdiff
