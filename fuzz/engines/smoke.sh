#!/usr/bin/env bash
# A smoke campaign of one engine on the running kernel (a ctest test, see
# CMakeLists.txt; fuzz/README.md shows the same commands for real campaigns).
#
#   smoke.sh libfuzzer BINARY SEEDS WORKDIR SECONDS
#   smoke.sh afl       BINARY SEEDS WORKDIR SECONDS MUTATOR_LIBRARY
#
# Passes when the engine started, executed programs (libFuzzer's "Done N
# runs", AFL++'s fuzzer_stats execs_done > 0) and either found nothing or
# reported what it found in the one-line format (DIVERGENCE ..., EXPECTATION
# ..., KERNEL-SPLAT ..., HANG ...), which is printed: a finding on the real
# kernel is a result, not a failure of the engine.
set -u
engine=$1 bin=$2 seeds=$3 work=$4 secs=$5 lib=${6:-}
report_re='^(DIVERGENCE|EXPECTATION|KERNEL-SPLAT|HANG) '

fail() { echo "smoke: FAIL: $*"; exit 1; }
[ -x "$bin" ] || fail "no engine binary $bin (is clang installed? see fuzz/README.md)"
[ -d "$seeds" ] && [ -n "$(ls -A "$seeds")" ] || fail "no seeds in $seeds"
rm -rf "$work"
mkdir -p "$work"

case $engine in
  libfuzzer)
    mkdir -p "$work/corpus" "$work/artifacts"
    echo "smoke: $bin -max_total_time=$secs -timeout=30 -print_final_stats=1 -artifact_prefix=$work/artifacts/ $work/corpus $seeds"
    "$bin" -max_total_time="$secs" -timeout=30 -print_final_stats=1 -artifact_prefix="$work/artifacts/" \
      "$work/corpus" "$seeds" >"$work/log" 2>&1
    rc=$?
    execs=$(grep -oE '^Done [0-9]+ runs' "$work/log" | awk '{print $2}' | tail -1)
    [ -n "$execs" ] || execs=$(grep -oE '^stat::number_of_executed_units: [0-9]+' "$work/log" | awk '{print $2}' | tail -1)
    [ -n "$execs" ] || execs=$(grep -oE '^#[0-9]+' "$work/log" | tr -d '#' | sort -n | tail -1)
    secs_done=$(grep -oE '^Done [0-9]+ runs in [0-9]+ second' "$work/log" | awk '{print $5}' | tail -1)
    grep -E '^(INFO: Loaded|INFO: seed|#[0-9]+ +(INITED|DONE))' "$work/log" | head -5
    echo "smoke: libFuzzer exit $rc, executed ${execs:-0} programs${secs_done:+ in $secs_done s}"
    [ "${execs:-0}" -gt 0 ] || { tail -30 "$work/log"; fail "libFuzzer executed nothing"; }
    if [ "$rc" -ne 0 ]; then
      line=$(grep -E "$report_re" "$work/log" | head -1)
      [ -n "$line" ] || { tail -40 "$work/log"; fail "libFuzzer exited $rc without a one-line report"; }
      echo "smoke: libFuzzer found: $line"
      grep -A40 -E "$report_re" "$work/log" | head -60
    fi
    ;;
  afl)
    [ -f "$lib" ] || fail "no custom mutator library $lib"
    command -v afl-fuzz >/dev/null || fail "no afl-fuzz (Debian package afl++)"
    echo "smoke: AFL_CUSTOM_MUTATOR_LIBRARY=$lib AFL_CUSTOM_MUTATOR_ONLY=1 afl-fuzz -i $seeds -o $work/out -V $secs -t 10000 -- $bin"
    AFL_SKIP_CPUFREQ=1 AFL_I_DONT_CARE_ABOUT_MISSING_CRASHES=1 AFL_NO_UI=1 AFL_NO_AFFINITY=1 \
      AFL_SKIP_CRASHES=1 AFL_FAST_CAL=1 AFL_NO_CRASH_README=1 \
      AFL_CUSTOM_MUTATOR_LIBRARY="$lib" AFL_CUSTOM_MUTATOR_ONLY=1 \
      afl-fuzz -i "$seeds" -o "$work/out" -V "$secs" -t 10000 -- "$bin" >"$work/log" 2>&1 </dev/null
    rc=$?
    stats=$work/out/default/fuzzer_stats
    [ -f "$stats" ] || { tail -40 "$work/log"; fail "afl-fuzz exited $rc without $stats"; }
    execs=$(awk -F: '/^execs_done/ {gsub(/ /, "", $2); print $2}' "$stats")
    eps=$(awk -F: '/^execs_per_sec/ {gsub(/ /, "", $2); print $2}' "$stats")
    grep -E '^(run_time|execs_done|execs_per_sec|corpus_count|saved_crashes|unique_crashes|saved_hangs|stability)' "$stats"
    grep -E 'mmdiff-afl-mutator:' "$work/log" | head -12
    echo "smoke: afl-fuzz exit $rc, executed ${execs:-0} programs (${eps:-?}/s)"
    [ "$rc" -eq 0 ] || { tail -40 "$work/log"; fail "afl-fuzz exited $rc"; }
    [ "${execs:-0}" -gt 0 ] || fail "afl-fuzz executed nothing"
    # Run each crash again to get its one-line report; print each distinct
    # line once, with the full report of the first.
    : >"$work/found"
    for crash in "$work"/out/default/crashes/id:*; do
      [ -f "$crash" ] || continue
      "$bin" "$crash" >"$work/crash.log" 2>&1
      line=$(grep -E "$report_re" "$work/crash.log" | head -1)
      if [ -n "$line" ]; then
        [ -s "$work/found" ] || { echo "smoke: first crash $crash:"; grep -A40 -E "$report_re" "$work/crash.log" | head -60; }
        echo "$line" >>"$work/found"
      elif grep -q '^mmdiff-engine: the program' "$work/crash.log"; then
        fail "crash $crash has no one-line report"
      else
        echo "smoke: crash $crash does not reproduce when run alone (flaky kernel behaviour?)"
      fi
    done
    if [ -s "$work/found" ]; then
      echo "smoke: afl-fuzz found $(wc -l <"$work/found") crashes, $(sort -u "$work/found" | wc -l) distinct reports:"
      sort "$work/found" | uniq -c | sort -rn | head -20 | sed 's/^/smoke:   /'
    fi
    ;;
  *)
    fail "unknown engine $engine"
    ;;
esac
echo "smoke: PASS"
