// The findings directory of a campaign: one subdirectory per distinct
// divergence signature, written so that Ctrl-C or a crash at any moment
// leaves every finding either complete or absent (temporary file + rename).
//
//   DIR/findings/NAME/program.mmp   the program, with the kernel's results as
//                                   comments and the verdict on top
//                     divergence.txt the DIVERGENCE line, class, signature,
//                                   address-space picture, console excerpt
//                     meta.txt      signature, class, hits, confirmation;
//                                   `mutant: NAME` for a self-test finding
//                     min.mmp, repro.c, report.txt  the minimized program, its
//                                   C reproducer, the linux-mm report (written
//                                   by the campaign's background minimizer)
//   DIR/flaky/NAME/...               the same, for divergences that did not
//                                   reproduce on every confirmation run
//
// NAME is the class and a hash of the signature: stable across runs and
// machines, so `mmdiff merge` can dedup directories of many campaigns.
#pragma once

#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "model/judge.h"
#include "prog/program.h"
#include "prog/result.h"

namespace mmdiff {

// The dedup key of a failed judgement: the checker's signature for a
// divergence; for a splat, its first splat line without numbers (addresses,
// timestamps, PIDs); for a guest hang, the class alone.
std::string FindingSignature(const Judgement& j);
std::string FindingClass(const Judgement& j);  // "missed-dirty", "kernel-splat", "hang", ...
std::string FindingName(const std::string& signature, const std::string& cls);

bool WriteFileAtomically(const std::string& path, const std::string& content);
// The text of a finding's meta.txt (`mutant` empty for a real finding;
// `cause`: its root-cause key once minimized; `also`: the signatures folded in).
std::string MetaText(const std::string& signature, const std::string& cls, const std::string& mutant, uint64_t hits,
                     int reproduced, int runs, const std::string& cause = "",
                     const std::vector<std::string>& also = {});

struct MergeStats {
  size_t dirs = 0;
  size_t findings = 0;  // distinct signatures in the output
  size_t flaky = 0;
  size_t duplicates = 0;  // entries whose root cause or signature was already there
};

// `mmdiff merge`: the findings of several campaign directories (same layout)
// into `out`, one entry per root cause (a minimized finding's `cause`, and
// every signature folded into it) or else per signature: the first
// directory's files, the sum of the hits, the other signatures as `also`; a
// signature confirmed anywhere is a finding, not flaky.
bool MergeFindingDirs(const std::vector<std::string>& dirs, const std::string& out, MergeStats* stats,
                      std::string* err);

class FindingStore {
 public:
  // Creates DIR/findings and DIR/flaky, and loads what is there (resuming).
  bool Open(const std::string& dir, std::string* err);
  // A self-test campaign (--model-mutant NAME): its findings are the broken
  // model's, not the kernel's. Their signatures carry the mutant, so they
  // never fold into a real finding (here or in `mmdiff merge`), and meta.txt
  // says `mutant: NAME`. Call before Record.
  void SetMutant(const std::string& name) { mutant_ = name; }
  // The dedup key this store records `j` under (FindingSignature, with the
  // mutant of a self-test campaign).
  std::string SignatureOf(const Judgement& j) const;

  // Records a confirmed finding (`reproduced` of `runs` confirmation runs
  // diverged the same way; all of them: a finding, fewer: flaky). Returns
  // true when the signature is new to this directory.
  bool Record(const Program& prog, const Trace& trace, const Judgement& j, int reproduced, int runs);
  // Once the finding of `signature` is minimized: when another confirmed
  // finding has the same root-cause key (fuzz/root_cause.h FoldKey), this one is folded into it (its
  // hits added, its signature an alias: later hits count there; its
  // directory removed). Returns the signature it is kept under.
  std::string Fold(const std::string& signature, const std::string& key);
  // The directory name of the finding recorded under `signature` (its class
  // and hash; "" when there is none).
  std::string NameOf(const std::string& signature) const;
  // The signature recorded under directory `name` ("" when there is none):
  // a finding's own, which its minimized program may observe otherwise.
  std::string SignatureNamed(const std::string& name) const;
  std::string dir() const { return dir_; }

  size_t unique() const;  // distinct confirmed signatures
  size_t flaky() const;
  uint64_t hits() const;  // confirmed divergences, all signatures

 private:
  struct Entry {
    std::string cls;
    uint64_t hits = 0;
    int reproduced = 0, runs = 0;
    bool flaky = false;
    std::string cause;              // the root-cause key (FoldKey), once minimized
    std::vector<std::string> also;  // signatures folded into this one
  };
  void WriteEntry(const std::string& sub, const std::string& name, const std::string& signature, const Entry& e,
                  const Program* prog, const Trace* trace, const Judgement* j);
  std::string dir_;
  std::string mutant_;
  mutable std::mutex mu_;
  std::map<std::string, Entry> by_signature_;
  std::map<std::string, std::string> aliases_;  // a folded signature -> the one it counts to
};

}  // namespace mmdiff
