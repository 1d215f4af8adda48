#!/usr/bin/env bash
# Overhead benchmarks: untraced vs traced (recording to a file), alternating
# runs, medians and ratios. Timings come from inside the workload, so tracer
# start-up is not counted. Then the user-space micro-benchmarks.
#   scripts/bench.sh [RUNS]     (default 7)
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/build.sh
runs=${1:-7}
storm=build/workloads/storm
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

seconds() { sed -n 's/.*"seconds":\([0-9.]*\).*/\1/p'; }
median() { sort -g | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }
json_num() { sed -n "s/^  \"$1\": \([0-9]*\).*/\1/p"; }  # a top-level number of report --json

rec_opts=()  # extra recorder options for bench()
bench() {  # name, workload args...
  local name=$1; shift
  : >"$tmp/base" ; : >"$tmp/traced" ; : >"$tmp/ratio"
  local lost_max=0 bytes_per_fault="-"
  for ((i = 0; i < runs; i++)); do
    b=$("$storm" "$@" | seconds)
    t=$(build/vmatrace -o "$tmp/t.vmt" "${rec_opts[@]}" -- "$storm" "$@" 2>/dev/null | seconds)
    echo "$b" >>"$tmp/base"; echo "$t" >>"$tmp/traced"
    awk -v b="$b" -v t="$t" 'BEGIN {print t / b}' >>"$tmp/ratio"
    report=$(build/vmatrace report "$tmp/t.vmt" --json)
    lost=$(echo "$report" | json_num lost_total)
    [ "$lost" -gt "$lost_max" ] && lost_max=$lost
    faults=$(echo "$report" | sed -n 's/^    "total": \([0-9]*\).*/\1/p')  # faults.total
    size=$(stat -c %s "$tmp/t.vmt")
    [ "${faults:-0}" -gt 1000 ] && bytes_per_fault=$(awk -v s="$size" -v f="$faults" 'BEGIN {printf "%.1f", s / f}')
  done
  printf "| %-28s | %10.4f | %10.4f | %6.3fx | %6.3fx | %6s | %6s |\n" "$name" \
    "$(median <"$tmp/base")" "$(median <"$tmp/traced")" \
    "$(awk -v b="$(median <"$tmp/base")" -v t="$(median <"$tmp/traced")" 'BEGIN {print t / b}')" \
    "$(median <"$tmp/ratio")" "$lost_max" "$bytes_per_fault"
}

# The storm with `vmatrace watch` (whole machine; defaults, or $watch_args) running beside it
# instead of the tracer: what every process pays for the watch.
bench_watch() {  # name, workload args...
  local name=$1; shift
  : >"$tmp/base" ; : >"$tmp/traced" ; : >"$tmp/ratio"
  for ((i = 0; i < runs; i++)); do
    b=$("$storm" "$@" | seconds)
    build/vmatrace watch --listen 127.0.0.1:0 ${watch_args:-} >"$tmp/watch.out" 2>&1 &
    local watch_pid=$!
    until grep -q '"started"' "$tmp/watch.out" 2>/dev/null; do sleep 0.05; done
    t=$("$storm" "$@" | seconds)
    kill "$watch_pid"; wait "$watch_pid" || true
    echo "$b" >>"$tmp/base"; echo "$t" >>"$tmp/traced"
    awk -v b="$b" -v t="$t" 'BEGIN {print t / b}' >>"$tmp/ratio"
  done
  printf "| %-28s | %10.4f | %10.4f | %6.3fx | %6.3fx | %6s | %6s |\n" "$name" \
    "$(median <"$tmp/base")" "$(median <"$tmp/traced")" \
    "$(awk -v b="$(median <"$tmp/base")" -v t="$(median <"$tmp/traced")" 'BEGIN {print t / b}')" \
    "$(median <"$tmp/ratio")" "-" "-"
}

echo "vmatrace overhead, $runs alternating runs each, kernel $(uname -r), $(nproc) CPUs"
echo
echo "| benchmark                    | untraced s | traced s   | ratio   | pair-med | lost   | B/fault|"
echo "|------------------------------|------------|------------|---------|----------|--------|--------|"
bench "fault storm 256 MiB (4 KiB)" faults 256
bench "syscall storm 50k rounds" syscalls 50000
# The flight recorder: the same storm kept in memory (compressed chunks, the
# VMA set taken at each) and written once at exit; compare with the first row.
rec_opts=(--flight 10)
bench "fault storm, --flight 10" faults 256
rec_opts=()
bench_watch "fault storm 256 MiB, watch on" faults 256
watch_args=--latency bench_watch "fault storm, watch --latency" faults 256
echo
echo "ratio: median traced / median untraced; pair-med: median of per-pair ratios;"
echo "lost: most events lost in any traced run; B/fault: trace file bytes per recorded fault."
echo
# What the rest of the machine pays: a getppid loop in a process vmatrace does
# not trace, while vmatrace traces a sleeping one. Raw sys_enter/sys_exit
# programs run for every syscall of every process; per-syscall tracepoints only
# for the traced syscalls.
bystander() {  # name, vmatrace options...
  local name=$1; shift
  : >"$tmp/base" ; : >"$tmp/traced"
  for ((i = 0; i < runs; i++)); do
    "$storm" getppid 2000000 | seconds >>"$tmp/base"
    build/workloads/sleeper 50 & local sleeper=$!
    build/vmatrace -p "$sleeper" -o "$tmp/b.vmt" "$@" 2>/dev/null & local rec=$!
    while [ ! -e "$tmp/b.vmt" ]; do sleep 0.05; done
    "$storm" getppid 2000000 | seconds >>"$tmp/traced"
    kill -INT "$rec"; wait "$rec" || true
    kill "$sleeper"; wait "$sleeper" 2>/dev/null || true
    rm -f "$tmp/b.vmt"
  done
  local b t
  b=$(median <"$tmp/base"); t=$(median <"$tmp/traced")
  printf "| %-40s | %7.1f | %7.1f | %+6.1f ns | %6.3fx |\n" "$name" "$(awk -v s="$b" 'BEGIN {print s / 2e6 * 1e9}')" \
    "$(awk -v s="$t" 'BEGIN {print s / 2e6 * 1e9}')" "$(awk -v b="$b" -v t="$t" 'BEGIN {print (t - b) / 2e6 * 1e9}')" \
    "$(awk -v b="$b" -v t="$t" 'BEGIN {print t / b}')"
}
echo "| another process's getppid (2 M calls)    | ns/call | traced  | extra     | ratio   |"
echo "|------------------------------------------|---------|---------|-----------|---------|"
bystander "per-syscall tracepoints (default)"
bystander "raw sys_enter/sys_exit (--without ...)" --without syscall_tracepoints
echo
# report (summary, storms and heatmap) over 10 M-event traces: a real
# recording of periodic fault storms, and a synthetic worst case for the VMA
# model (faults spread over 1,000 VMAs, a VMA split and merged back every 100 faults).
report_bench() {  # name, trace
  : >"$tmp/rep"
  for ((i = 0; i < 5; i++)); do
    /usr/bin/time -f "%e %M" -o "$tmp/time" build/vmatrace report "$2" --heatmap "$tmp/h.svg" >"$tmp/out"
    cat "$tmp/time" >>"$tmp/rep"
  done
  local secs rss events
  secs=$(cut -d' ' -f1 "$tmp/rep" | median)
  rss=$(cut -d' ' -f2 "$tmp/rep" | median)
  events=$(build/vmatrace report "$2" --json | json_num total_events)
  printf "| %-34s | %9s | %6.2f s | %6.1f M/s | %5d MiB | %s |\n" "$1" "$events" "$secs" \
    "$(awk -v s="$secs" -v n="$events" 'BEGIN {print n / s / 1e6}')" "$((rss / 1024))" "$(head -1 "$tmp/out")"
}
build/vmatrace -o "$tmp/real.vmt" -- "$storm" faults 256 153 150 >/dev/null 2>&1
build/tests/make_trace "$tmp/synthetic.vmt" 10000000 >/dev/null
echo "| report (summary+storms+heatmap)    | events    | median   | events/s   | peak RSS  | storms |"
echo "|------------------------------------|-----------|----------|------------|-----------|--------|"
report_bench "recorded: 153 storms of 64 Ki faults" "$tmp/real.vmt"
report_bench "synthetic: VMA churn every 100 faults" "$tmp/synthetic.vmt"
echo
# Memory. The recorder's peak RSS is its own VmHWM, read until it exits
# (/usr/bin/time would count the workload's 256 MiB: it is the recorder's
# child); report's is /usr/bin/time's. Growth is per million faults between
# the 1 M- and the 10 M-fault recordings (target: ~0).
peak_rss_kib() {  # command...: runs it quietly, prints its peak RSS in KiB
  "$@" >/dev/null 2>&1 &
  local pid=$! last=0 v
  while kill -0 "$pid" 2>/dev/null; do
    v=$(awk '/^VmHWM/ {print $2}' "/proc/$pid/status" 2>/dev/null) && [ -n "$v" ] && last=$v
    sleep 0.05
  done
  wait "$pid" || true
  echo "$last"
}
faults_in() { build/vmatrace report "$1" --json | sed -n 's/^    "total": \([0-9]*\).*/\1/p'; }
memory_row() {  # name, count, KiB
  printf "| %-40s | %13s | %5.1f MiB |\n" "$1" "$2" "$(awk -v k="$3" 'BEGIN {print k / 1024}')"
}
rec1=$(peak_rss_kib build/vmatrace -o "$tmp/m1.vmt" --plain -- "$storm" faults 256 16)
rec10=$(peak_rss_kib build/vmatrace -o "$tmp/m10.vmt" --plain -- "$storm" faults 256 153)
f1=$(faults_in "$tmp/m1.vmt")
f10=$(faults_in "$tmp/m10.vmt")
rm -f "$tmp/m1.vmt" "$tmp/m10.vmt"
/usr/bin/time -f "%M" -o "$tmp/rss10" build/vmatrace report "$tmp/synthetic.vmt" --heatmap "$tmp/h.svg" >/dev/null
rm -f "$tmp/real.vmt"
build/tests/make_trace "$tmp/synthetic100.vmt" 100000000 >/dev/null
/usr/bin/time -f "%M" -o "$tmp/rss100" build/vmatrace report "$tmp/synthetic100.vmt" --heatmap "$tmp/h.svg" >/dev/null
rm -f "$tmp/synthetic100.vmt"
echo "| memory                                   | faults/events | peak RSS  |"
echo "|------------------------------------------|---------------|-----------|"
memory_row "recorder, 256 MiB fault storm x16" "$f1" "$rec1"
memory_row "recorder, 256 MiB fault storm x153" "$f10" "$rec10"
printf "| %-40s | %13s | %5.2f MiB |\n" "recorder growth per million faults" "" \
  "$(awk -v a="$rec1" -v b="$rec10" -v fa="$f1" -v fb="$f10" 'BEGIN {print (b - a) / 1024 / ((fb - fa) / 1e6)}')"
memory_row "report + heatmap, synthetic 10 M events" 10000000 "$(cat "$tmp/rss10")"
memory_row "report + heatmap, synthetic 100 M events" 100000000 "$(cat "$tmp/rss100")"
echo
if [ -x build/tests/micro_bench ]; then
  build/tests/micro_bench --benchmark_repetitions=3 --benchmark_report_aggregates_only=true 2>/dev/null
fi
