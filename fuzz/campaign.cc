#include "fuzz/campaign.h"

#include <dirent.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cinttypes>
#include <cstdio>
#include <cstring>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <set>
#include <thread>
#include <tuple>

#include "fuzz/campaign_state.h"
#include "fuzz/coverage.h"
#include "fuzz/findings.h"
#include "fuzz/generator.h"
#include "fuzz/out_lock.h"
#include "fuzz/record.h"
#include "model/judge.h"
#include "model/kernel_compare.h"
#include "prog/text.h"
#include "target/pipelined_target.h"

namespace mmdiff {
namespace {

double Now() {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec * 1e-9;
}

uint64_t HashText(const std::string& s) {
  uint64_t h = 0xcbf29ce484222325ULL;
  for (unsigned char c : s) h = (h ^ c) * 0x100000001b3ULL;
  return h;
}

// Two campaigns started in the same second must not share a seed (and with
// it their programs): the seed comes from the kernel's entropy, not the clock.
uint64_t RandomSeed() {
  uint64_t seed = 0;
  while (seed == 0)
    if (getrandom(&seed, sizeof seed, 0) != static_cast<ssize_t>(sizeof seed)) seed = static_cast<uint64_t>(Now() * 1e9);
  return seed;
}

bool IsMmpName(const std::string& name) { return name.size() > 4 && name.compare(name.size() - 4, 4, ".mmp") == 0; }

class CampaignRun {
 public:
  CampaignRun(const CampaignOptions& o, TargetPool* pool, const KernelProfile& profile,
              const std::atomic<bool>& stop)
      : o_(o), pool_(pool), profile_(profile), stop_(stop) {}

  bool Run(CampaignStats* out, std::string* err) {
    if (!lock_.Acquire(o_.out_dir, err) || !store_.Open(o_.out_dir, err)) return false;
    if (profile_.mutant != Mutant::kNone) store_.SetMutant(std::string(MutantName(profile_.mutant)));
    corpus_dir_ = o_.out_dir + "/corpus";
    mkdir(corpus_dir_.c_str(), 0755);
    seed_ = o_.seed ? o_.seed : RandomSeed();
    fprintf(stderr, "mmdiff fuzz: seed %" PRIu64 ", output in %s\n", seed_, o_.out_dir.c_str());
    start_ = Now();
    if (ReadCampaignHistory(o_.out_dir + "/stats.json", &history_)) {
      fprintf(stderr, "mmdiff fuzz: resuming at %" PRIu64 " execs, %.0f s elapsed\n", history_.execs,
              history_.elapsed_s);
      restarts_.store(history_.restarts);
      tally_ = history_.tally;
    }
    if (!history_.started) history_.started = time(nullptr);
    Triage();
    std::thread minimizer;
    if (o_.minimize_target) minimizer = std::thread([this] { Minimizer(); });
    std::vector<std::thread> workers;
    for (int w = 0; w < pool_->size(); w++) workers.emplace_back([this, w] { Worker(w); });
    double next_status = Now() + o_.status_every_s;
    while (!Done()) {
      usleep(100 * 1000);
      if (Now() >= next_status) {
        Status();
        next_status = Now() + o_.status_every_s;
      }
    }
    for (auto& t : workers) t.join();
    // --until-found: the finding is what the user waits for, so its
    // minimization (min.mmp, repro.c, report.txt) finishes before the
    // campaign does; Ctrl-C still stops it with the best program so far.
    if (o_.until_found && minimizer.joinable()) {
      std::unique_lock<std::mutex> lock(queue_mu_);
      while (!stop_.load() && (!queue_.empty() || minimizing_))
        queue_cv_.wait_for(lock, std::chrono::milliseconds(100));
    }
    finishing_.store(true);  // the minimizer keeps its best so far and stops
    queue_cv_.notify_all();
    if (minimizer.joinable()) minimizer.join();
    *out = Stats();
    WriteStats(*out);
    fprintf(stderr, "mmdiff fuzz: done: %s\n", StatusLine(*out, TargetWord()).c_str());
    return true;
  }

 private:
  bool Done() const {
    if (stop_.load()) return true;
    if (o_.until_found && store_.unique() > 0) return true;
    if (o_.max_execs && reserved_.load() >= o_.max_execs) return true;
    return o_.max_seconds > 0 && Now() - start_ >= o_.max_seconds;
  }

  // A program may run only with a slot of --execs: the triage, confirmation
  // runs and every worker share them, so no more than N programs run.
  bool TakeExec() {
    if (!o_.max_execs) return true;
    uint64_t n = reserved_.load();
    while (n < o_.max_execs)
      if (reserved_.compare_exchange_weak(n, n + 1)) return true;
    return false;
  }

  std::string TargetWord() const { return o_.target_word; }

  // Seeds and the corpus of an earlier run: each runs once to rebuild the
  // coverage map; the ones that add coverage make up the starting corpus.
  // Every corpus file of an earlier run stays in the corpus (and counts),
  // whether or not it adds coverage this time: the count is the files on disk.
  void Triage() {
    std::vector<Program> start = o_.seeds;
    if (DIR* d = opendir(corpus_dir_.c_str())) {
      std::vector<std::string> files;
      while (dirent* e = readdir(d))
        if (IsMmpName(e->d_name)) files.push_back(e->d_name);
      closedir(d);
      std::sort(files.begin(), files.end());
      for (const std::string& f : files) {
        corpus_names_.insert(f);
        Program p;
        TextError te;
        if (!ParseProgramFile(corpus_dir_ + "/" + f, &p, &te)) continue;
        corpus_.push_back(p);
        start.push_back(std::move(p));
      }
    }
    resumed_ = start.size() - o_.seeds.size();
    if (start.empty()) return;
    std::vector<std::pair<Program, Trace>> failed;
    std::vector<std::tuple<Program, Trace, Judgement>> compare;  // after the triage: target 0 is busy
    fprintf(stderr, "mmdiff fuzz: triaging %zu seed and corpus programs (%zu from an earlier run)\n",
            start.size(), resumed_);
    pool_->RunAll(
        start.size(),
        [&](size_t i) {
          return (start[i].Requires() & ~profile_.features) || !TakeExec() ? Program{} : start[i];
        },
        [&](size_t, const Program& prog, bool ok, const Trace& trace, const std::string&) {
          if (prog.ops.empty()) return;
          execs_++;
          if (!ok) return;
          // Failures are confirmed after the triage, when a target is free.
          Judgement j = JudgeKernelRun(prog, trace, profile_);
          if (j.kind == Judgement::Kind::kFail)
            failed.push_back({prog, trace});
          else
            Consider(prog, trace, nullptr);
          if (o_.second) compare.push_back({prog, trace, j});
        });
    for (auto& [prog, trace] : failed) Consider(prog, trace, pool_->first());
    for (auto& [prog, trace, j] : compare) CompareOnSecond(0, pool_->first(), prog, trace, j);
  }

  // A mutation of a corpus program most of the time; `which` says which
  // mutator made it (-1: generated).
  Program NextProgram(Generator& gen, Rng& rng, int* which) {
    *which = -1;
    if (o_.mutate && rng.Chance(4, 5)) {
      std::vector<Program> snapshot;
      {
        std::lock_guard<std::mutex> lock(mu_);
        if (!corpus_.empty()) {
          // The mutator may splice with a few others; hand it a small sample.
          for (int k = 0; k < 4; k++) snapshot.push_back(corpus_[rng.Below(corpus_.size())]);
        }
      }
      if (!snapshot.empty()) {
        Program p = snapshot[0];
        if (o_.mutate(&p, rng, snapshot, which)) return p;
        *which = -1;
      }
    }
    return gen.Next();
  }

  // The kernel runs programs while the one before them is judged on the
  // model (PipelinedTarget): the worker keeps as many programs sent as the
  // target takes. The kernel still runs one program at a time; the corpus a program
  // is mutated from lags that many programs behind.
  void Worker(int w) {
    PipelinedTarget target(pool_->at(w));
    Generator gen(GeneratorOptions{seed_ * 1000003 + static_cast<uint64_t>(w), 10, 60, profile_});
    Rng rng(seed_ ^ (0x5851f42d4c957f2dULL * (w + 1)));
    struct Job {
      Program prog;
      int which;  // the corpus program it came from (-1: generated)
    };
    std::deque<Job> sent;
    // Sends programs until the target holds as many as it takes.
    auto fill = [&] {
      while (static_cast<int>(sent.size()) < target.MaxInFlight() && !Done()) {
        int which;
        Program prog = NextProgram(gen, rng, &which);
        if (!TakeExec()) return;
        std::string err;
        if (!target.Send(prog, &err)) {
          // The target failed taking it: a run that failed.
          execs_++;
          restarts_++;
          return;
        }
        sent.push_back(Job{std::move(prog), which});
      }
    };
    for (;;) {
      fill();
      if (sent.empty()) {
        if (Done()) break;
        continue;
      }
      Job job = std::move(sent.front());
      sent.pop_front();
      Trace trace;
      std::string err;
      bool ok = target.Receive(&trace, &err);
      execs_++;
      if (!ok) {
        // The target failed: the programs sent after this one went with it.
        restarts_++;
        execs_ += sent.size();
        sent.clear();
        continue;
      }
      // The next programs run while this one is judged.
      fill();
      // A splat or a silent guest reboots it; a limit does not.
      if (trace.end == TraceEnd::kKernelSplat || trace.end == TraceEnd::kGuestHang) restarts_++;
      Judgement j;
      if (Consider(job.prog, trace, &target, &j) && job.which >= 0 && o_.credit) o_.credit(job.which);
      if (o_.second) CompareOnSecond(w, &target, job.prog, trace, j);
    }
  }

  KernelComparison Compare(const Program& prog, const Trace& ta, const Judgement& ja, const Trace& tb,
                           const Judgement& jb) {
    return CompareKernels(prog, KernelRun{o_.first_name, &profile_, &ta, &ja},
                          KernelRun{o_.second_name, o_.second_profile, &tb, &jb});
  }

  // Kernel against kernel: `prog`, which gave `ta` (judged `ja`) on the
  // first kernel's target `a` (worker `w`'s), runs on the second's target `w`. Its own
  // divergences there are recorded, then the two traces are compared; a
  // difference is re-run on both before it is recorded.
  void CompareOnSecond(int w, Target* a, const Program& prog, const Trace& ta, const Judgement& ja) {
    Target* b = o_.second->at(w);
    Trace tb;
    std::string err;
    auto count = [this](KernelComparison::Kind k) {
      std::lock_guard<std::mutex> lock(mu_);
      if (k == KernelComparison::Kind::kSkipped) tally_.kernel_compare_skipped++;
      else tally_.kernel_compare_checks++;
      if (k == KernelComparison::Kind::kExplained) tally_.kernel_compare_explained++;
    };
    if (!b->Run(prog, &tb, &err)) {
      restarts_++;
      count(KernelComparison::Kind::kSkipped);
      return;
    }
    if (tb.end == TraceEnd::kKernelSplat || tb.end == TraceEnd::kGuestHang) restarts_++;
    Judgement jb = JudgeKernelRun(prog, tb, *o_.second_profile);
    if (jb.kind == Judgement::Kind::kFail) RecordConfirmed(prog, tb, jb, [&](Trace* again) {
        return b->Run(prog, again, &err) ? JudgeKernelRun(prog, *again, *o_.second_profile) : Judgement{};
      });
    KernelComparison c = Compare(prog, ta, ja, tb, jb);
    count(c.kind);
    if (c.kind != KernelComparison::Kind::kDiffers) return;
    std::string name = RecordConfirmed(prog, ta, c.judgement, [&](Trace* again) {
      Trace other;
      if (!a->Run(prog, again, &err) || !b->Run(prog, &other, &err)) return Judgement{};
      Judgement ja2 = JudgeKernelRun(prog, *again, profile_), jb2 = JudgeKernelRun(prog, other, *o_.second_profile);
      return Compare(prog, *again, ja2, other, jb2).judgement;
    });
    if (name.empty()) return;
    // Both traces, both kernels and what the model says on each.
    std::string report = "Subject: kernel-differs: " + o_.first_name + " and " + o_.second_name + "\n\n" +
                         c.judgement.line + "\n\n" + c.judgement.detail;
    for (const char* sub : {"/findings/", "/flaky/"}) {
      std::string d = store_.dir() + sub + name;
      struct stat st;
      if (stat(d.c_str(), &st) == 0) WriteFileAtomically(d + "/report.txt", report);
    }
  }

  // Records a failed judgement `j` of `prog` (trace `trace`) after re-running
  // it with `again` (which returns the new judgement) until confirm_runs
  // (not at all when `rerun` is false: no target to run it on).
  // Returns the finding's name when it is new, else ""; `*confirmed`: it
  // reproduced on every run (a finding, not flaky). Not minimized.
  template <typename Again>
  std::string RecordConfirmed(const Program& prog, const Trace& trace, const Judgement& j, Again again,
                              bool rerun = true, bool* confirmed = nullptr) {
    RecordOutcome r = ConfirmAndRecord(&store_, prog, trace, j, o_.confirm_runs, [&](Trace* t, Judgement* j2) {
      // Confirmation runs count as execs and take --execs slots.
      if (!rerun || stop_.load() || !TakeExec()) return false;
      execs_++;
      *j2 = again(t);
      return true;
    });
    if (r.confirmed) confirmed_this_run_++;
    if (confirmed) *confirmed = r.confirmed;
    if (!r.fresh) return "";
    last_new_finding_.store(time(nullptr));
    fprintf(stderr, "mmdiff fuzz: new %s %s (%d/%d): %s\n", r.confirmed ? "finding" : "flaky", r.name.c_str(),
            r.reproduced, r.runs, j.line.c_str());
    return r.name;
  }

  // A diverging program is re-run on the same target before it is recorded.
  // True when the program reached new coverage (and joined the corpus).
  bool Consider(const Program& prog, const Trace& trace, Target* target, Judgement* judged = nullptr) {
    // One walk of the model judges the trace and measures its coverage.
    CoverageVisitor coverage;
    Judgement j = JudgeKernelRun(prog, trace, profile_, &coverage);
    if (judged) *judged = j;
    {
      std::lock_guard<std::mutex> lock(mu_);
      tally_.Add(j);
    }
    if (j.kind == Judgement::Kind::kFail) {
      bool confirmed = false;
      std::string name = RecordConfirmed(
          prog, trace, j,
          [&](Trace* again) {
            std::string err;
            return target->Run(prog, again, &err) ? JudgeKernelRun(prog, *again, profile_) : Judgement{};
          },
          /*rerun=*/target != nullptr, &confirmed);
      // A new confirmed finding (not flaky) goes to the background minimizer.
      if (!name.empty() && confirmed && o_.minimize_target) {
        std::lock_guard<std::mutex> lock(queue_mu_);
        queue_.push_back({store_.dir() + "/findings/" + name, prog});
        queue_cv_.notify_all();
      }
      return false;
    }
    if (j.kind != Judgement::Kind::kPass) return false;
    std::vector<uint64_t> features = coverage.Features();
    std::vector<uint64_t> kernel;
    if (o_.kernel_coverage) kernel = KcovFeatures(trace.kernel_cov);
    std::lock_guard<std::mutex> lock(mu_);
    // Both merges run: a program new to either map joins the corpus.
    size_t added = coverage_.Merge(features);
    added += kernel_coverage_.Merge(kernel);
    if (added == 0) return false;
    std::string text = PrintProgram(prog);
    char name[32];
    snprintf(name, sizeof name, "%016" PRIx64 ".mmp", HashText(text));
    // A seed already kept by an earlier run, or a resumed corpus program.
    if (!corpus_names_.insert(name).second) return false;
    corpus_.push_back(prog);
    WriteFileAtomically(corpus_dir_ + "/" + name, text);
    return true;
  }

  // Minimizes new findings one at a time on a target of its own, so the
  // campaign's targets keep fuzzing.
  void Minimizer() {
    std::unique_ptr<Target> target;
    for (;;) {
      std::pair<std::string, Program> job;
      {
        std::unique_lock<std::mutex> lock(queue_mu_);
        minimizing_ = false;  // the last job (if any) is done: --until-found may stop
        queue_cv_.notify_all();
        queue_cv_.wait(lock, [&] { return finishing_.load() || !queue_.empty(); });
        // At the end (not on Ctrl-C) a finding left in the queue is still
        // folded into one with its root cause, unminimized (two runs).
        if (queue_.empty() || (finishing_.load() && stop_.load())) return;
        job = std::move(queue_.front());
        queue_.erase(queue_.begin());
        minimizing_ = true;
      }
      std::string err;
      if (!target) target = o_.minimize_target(&err);
      if (!target) {
        fprintf(stderr, "mmdiff fuzz: no target for the minimizer: %s\n", err.c_str());
        std::lock_guard<std::mutex> lock(queue_mu_);
        minimizing_ = false, queue_.clear();
        queue_cv_.notify_all();
        return;
      }
      std::string summary;
      if (finishing_.load()) {
        if (FoldUnminimized(&store_, job.second, target.get(), profile_, &summary))
          fprintf(stderr, "mmdiff fuzz: %s\n", summary.c_str());
      } else if (MinimizeFinding(&store_, job.first, job.second, target.get(), profile_, &finishing_, &summary, &err)) {
        fprintf(stderr, "mmdiff fuzz: minimized %s\n", summary.c_str());
      }
    }
  }

  CampaignStats Stats() {
    CampaignStats s;
    s.elapsed_s = history_.elapsed_s + (Now() - start_);
    s.execs = history_.execs + execs_.load();
    {
      std::lock_guard<std::mutex> lock(mu_);
      s.corpus = corpus_names_.size();
      s.coverage = coverage_.size();
      s.kernel_coverage = kernel_coverage_.size();
      s.tally = tally_;
    }
    s.started = history_.started;
    s.last_new_finding = last_new_finding_.load() ? last_new_finding_.load() : history_.last_new_finding;
    s.divergences = store_.hits();
    s.confirmed_this_run = confirmed_this_run_.load();
    s.unique = store_.unique();
    s.flaky = store_.flaky();
    s.restarts = restarts_.load();
    s.targets = pool_->size();
    return s;
  }

  void WriteStats(const CampaignStats& s) {
    char buf[1024];
    snprintf(buf, sizeof buf,
             "{\n  \"seed\": %" PRIu64 ",\n  \"elapsed_s\": %.1f,\n  \"execs\": %" PRIu64
             ",\n  \"execs_per_s\": %.1f,\n  \"corpus\": %" PRIu64 ",\n  \"coverage\": %" PRIu64
             ",\n  \"divergences\": %" PRIu64 ",\n  \"unique_signatures\": %" PRIu64 ",\n  \"flaky\": %" PRIu64
             ",\n  \"targets\": %d,\n  \"restarts\": %" PRIu64 ",\n  \"kernel_coverage\": %" PRIu64,
             seed_, s.elapsed_s, s.execs, s.elapsed_s > 0 ? s.execs / s.elapsed_s : 0.0, s.corpus, s.coverage,
             s.divergences, s.unique, s.flaky, s.targets, s.restarts, s.kernel_coverage);
    std::string json = buf;
    json += ",\n  \"started\": \"" + IsoTimeUtc(s.started) + "\",\n  \"updated\": \"" + IsoTimeUtc(time(nullptr)) +
            "\",\n  \"last_new_finding\": " +
            (s.last_new_finding ? "\"" + IsoTimeUtc(s.last_new_finding) + "\"" : std::string("null"));
    json += ",\n" + s.tally.Json();
    if (o_.mutator_stats_json) json += ",\n  \"mutators\": " + o_.mutator_stats_json();
    json += "\n}\n";
    WriteFileAtomically(o_.out_dir + "/stats.json", json);
  }

  void Status() {
    CampaignStats s = Stats();
    WriteStats(s);
    fprintf(stderr, "%s\n", StatusLine(s, TargetWord()).c_str());
  }

  const CampaignOptions& o_;
  TargetPool* pool_;
  const KernelProfile& profile_;
  const std::atomic<bool>& stop_;
  OutDirLock lock_;
  FindingStore store_;
  CampaignHistory history_;  // what earlier runs on this --out did
  std::string corpus_dir_;
  uint64_t seed_ = 0;
  size_t resumed_ = 0;
  double start_ = 0;
  std::atomic<uint64_t> execs_{0};     // programs run by this run
  std::atomic<uint64_t> reserved_{0};  // slots of --execs taken (TakeExec)
  std::atomic<int64_t> last_new_finding_{0};
  std::atomic<uint64_t> restarts_{0};
  std::mutex mu_;
  std::vector<Program> corpus_;
  std::set<std::string> corpus_names_;  // the files in DIR/corpus
  CampaignTally tally_;
  std::atomic<bool> finishing_{false};
  std::mutex queue_mu_;
  std::condition_variable queue_cv_;
  bool minimizing_ = false;  // the minimizer holds a job (queue_mu_)
  std::atomic<uint64_t> confirmed_this_run_{0};  // hits that reproduced on every run
  std::vector<std::pair<std::string, Program>> queue_;  // (finding dir, program) to minimize
  CoverageMap coverage_;
  CoverageMap kernel_coverage_;  // KCOV edges (KcovFeatures), apart for the counts
};

}  // namespace

std::string StatusLine(const CampaignStats& s, const std::string& target_word) {
  char buf[512];
  int secs = static_cast<int>(s.elapsed_s);
  snprintf(buf, sizeof buf,
           "elapsed %d:%02d:%02d  execs %" PRIu64 " (%.0f/s)  corpus %" PRIu64 "  cov %" PRIu64
           "  divergences %" PRIu64 "  unique %" PRIu64 "  flaky %" PRIu64 "  %s %d  restarts %" PRIu64
           "  judged %" PRIu64 "  unmodelled %" PRIu64,
           secs / 3600, secs / 60 % 60, secs % 60, s.execs, s.elapsed_s > 0 ? s.execs / s.elapsed_s : 0.0,
           s.corpus, s.coverage, s.divergences, s.unique, s.flaky, target_word.c_str(), s.targets, s.restarts,
           s.tally.judged, s.tally.unmodelled_total());
  std::string line = buf;
  if (s.kernel_coverage) line += "  kcov " + std::to_string(s.kernel_coverage);
  for (int a = 0; a < kNumAllowances; a++)
    if (s.tally.granted[a])
      line += "  " + std::string(AllowanceName(static_cast<Allowance>(a))) + " " + std::to_string(s.tally.taken[a]) +
              "/" + std::to_string(s.tally.granted[a]);
  return line;
}

bool RunCampaign(const CampaignOptions& options, TargetPool* pool, const KernelProfile& profile,
                 const std::atomic<bool>& stop, CampaignStats* out, std::string* err) {
  CampaignRun run(options, pool, profile, stop);
  return run.Run(out, err);
}

}  // namespace mmdiff
