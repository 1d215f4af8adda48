#!/usr/bin/env bash
# Builds the libFuzzer targets in build-fuzz/ (clang, ASan and UBSan) and runs
# each for SECONDS (default 60), two at a time; a crash, a leak, undefined
# behaviour, a 10 s hang or 2 GB of memory fails. Seeds: tests/fuzz/corpus/;
# what fuzzing adds: build-fuzz/corpus/; reproducers: build-fuzz/crashes/.
#   scripts/fuzz.sh [SECONDS]
set -euo pipefail
secs=${1:-60}
cd "$(dirname "$0")/.."
targets=(trace_chunks trace_file ring_records proc_maps)
CC=clang CXX=clang++ cmake -S . -B build-fuzz -DVMATRACE_FUZZ=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build-fuzz -j"$(nproc)" --target "${targets[@]/#/fuzz_}"
mkdir -p build-fuzz/crashes

# Inputs longer than a few KB only make each run slower: the trace fuzzers
# get room for several chunks, the others for a batch or a long maps file.
max_len() { case $1 in trace_*) echo 16384 ;; *) echo 8192 ;; esac; }

run() {
  local t=$1
  mkdir -p "build-fuzz/corpus/$t"
  local seeds=()  # a target without committed seeds starts from what it makes itself
  [ -d "tests/fuzz/corpus/$t" ] && seeds=("tests/fuzz/corpus/$t")
  if "build-fuzz/tests/fuzz/fuzz_$t" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 \
      -max_len="$(max_len "$t")" -print_final_stats=1 -artifact_prefix="build-fuzz/crashes/$t-" \
      "build-fuzz/corpus/$t" "${seeds[@]}" >"build-fuzz/fuzz_$t.log" 2>&1; then
    echo "fuzz: $t: $(grep -m1 -o 'stat::number_of_executed_units: [0-9]*' "build-fuzz/fuzz_$t.log" | cut -d' ' -f2) runs, no crash"
  else
    echo "fuzz: $t FAILED (build-fuzz/fuzz_$t.log):" >&2
    grep -E 'ERROR|runtime error|SUMMARY|Test unit written' "build-fuzz/fuzz_$t.log" | head -20 >&2
    return 1
  fi
}

status=0
for ((i = 0; i < ${#targets[@]}; i += 2)); do
  pids=()
  for t in "${targets[@]:i:2}"; do
    run "$t" &
    pids+=($!)
  done
  for p in "${pids[@]}"; do wait "$p" || status=1; done
done
exit $status
