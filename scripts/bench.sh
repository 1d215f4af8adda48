#!/usr/bin/env bash
# Overhead benchmarks: vmatrace and its peers side by side in the same run,
# untraced and traced runs alternating, medians and ratios. Timings come from
# inside the workload (build/workloads/storm), so no tracer's start-up counts.
# Then what the rest of the machine pays, the report and memory tables and the
# user-space micro-benchmarks.
#   scripts/bench.sh [RUNS]     (default 7)
#   BENCH_QUICK=1 scripts/bench.sh   tiny sizes: checks the script end to end,
#                                    its numbers mean nothing
#   BENCH_SECTIONS="report memory" scripts/bench.sh   only those sections, of:
#     overhead (fault and syscall storms), bystander, report, memory, micro
# Peers (scripts/install-deps.sh installs them): perf (linux-perf) and
# bpftrace; one that is absent or does not work here gets a note, its row none.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/build.sh
quick=${BENCH_QUICK:-0}
sections=" ${BENCH_SECTIONS:-overhead bystander report memory micro} "
for s in $sections; do
  case $s in overhead | bystander | report | memory | micro) ;; *) echo "bench.sh: unknown section $s" >&2; exit 2 ;; esac
done
section() { [[ "$sections" == *" $1 "* ]]; }
runs=${1:-$([ "$quick" = 1 ] && echo 3 || echo 7)}
if [ "$quick" = 1 ]; then
  fault_mib=8 syscall_rounds=2000 getppid_calls=100000 bystander_mib=8 report_events=100000
  storm_mib=8 storms=4 mem_rounds=(2 4) big_report_events=1000000 idle_s=1
else
  fault_mib=128 syscall_rounds=50000 getppid_calls=2000000 bystander_mib=128 report_events=10000000
  storm_mib=256 storms=153 mem_rounds=(16 153) big_report_events=100000000 idle_s=5
fi
storm=build/workloads/storm
tmp=$(mktemp -d)
mounted_tracefs=""
tracefs_events=/sys/kernel/tracing/events enabled_events=()
cleanup() {
  local e
  for e in "${enabled_events[@]}"; do echo 0 >"$tracefs_events/syscalls/$e/enable" 2>/dev/null || true; done
  [ -n "$mounted_tracefs" ] && umount "$mounted_tracefs"
  rm -rf "$tmp"
}
trap cleanup EXIT
# perf trace and bpftrace find tracepoints in tracefs only (vmatrace mounts its
# own privately): mount it for the run where it is missing.
if [ ! -d /sys/kernel/tracing/events ] && [ ! -d /sys/kernel/debug/tracing/events ]; then
  mount -t tracefs nodev /sys/kernel/tracing 2>/dev/null && mounted_tracefs=/sys/kernel/tracing
fi

median() { sort -g | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }
json_num() { sed -n "s/^  \"$1\": \([0-9]*\).*/\1/p"; }  # a top-level number of report --json
# ns per operation from the workload's {"seconds":S,"ops":N} line, wherever it
# sits in a tracer's output.
ns_per_op() {
  sed -n 's/.*{"seconds":\([0-9.]*\),"ops":\([0-9]*\)}.*/\1 \2/p' | awk '{printf "%.1f\n", $1 / $2 * 1e9}'
}
feature() {  # what `vmatrace check` says of an optional feature: used, missing, refused
  build/vmatrace check --json 2>/dev/null | sed -n "s/^    \"$1\": \"\([a-z-]*\)\".*/\1/p"
}
lock_hook_usable() {  # `vmatrace check`: --mmap-lock-hook loads and attaches here
  build/vmatrace check --json 2>/dev/null | tr -d ' \n' | grep -q '"opt_in":{"mmap_lock_hook":"usable"'
}

# ---- the tracers: each runs the storm workload given as arguments ----
untraced() { "$storm" "$@"; }
perf_record() { perf record -q -e page-faults -c 1 -d -o "$tmp/perf.data" -- "$storm" "$@" 2>/dev/null; }
perf_trace_faults() { perf trace --pf=all -o "$tmp/perf.trace" -- "$storm" "$@" 2>/dev/null; }
perf_trace_syscalls() { perf trace -e mprotect,mmap,munmap -o "$tmp/perf.trace" -- "$storm" "$@" 2>/dev/null; }
# perf trace asks the kernel to wake it after every event (perf 6.1 hard-codes
# no_buffering): two interrupts a syscall, each tens of µs in this nested VM.
# Its record mode buffers like perf record; `perf trace -i` prints the calls
# with their arguments afterwards. 6.1 takes no syscall names there: x86-64's
# numbers of mmap, mprotect and munmap.
perf_trace_record_syscalls() {
  perf trace record -o "$tmp/perf.data" --filter 'id == 9 || id == 10 || id == 11' -- "$storm" "$@" 2>/dev/null
}
bpftrace_on() {  # program, workload args...: counts in the workload only (cpid)
  local prog=$1; shift
  bpftrace -e "$prog" -c "$storm $*" 2>/dev/null
}
# vmatrace's own hooks, counted: fault entry and completion...
bt_faults='tracepoint:exceptions:page_fault_user /pid == cpid/ { @entry = count(); }
software:minor-faults:1 /pid == cpid/ { @min = count(); }
software:major-faults:1 /pid == cpid/ { @maj = count(); }'
bpftrace_faults() { bpftrace_on "$bt_faults" "$@"; }
# ...and the syscalls, on the hook vmatrace uses on this kernel.
bt_syscalls() {
  case $(feature syscall_fentry)/$(feature syscall_tracepoints) in
    used/*) echo 'kfunc:__x64_sys_mprotect, kfunc:__x64_sys_mmap, kfunc:__x64_sys_munmap,
kretfunc:__x64_sys_mprotect, kretfunc:__x64_sys_mmap, kretfunc:__x64_sys_munmap /pid == cpid/ { @[probe] = count(); }' ;;
    */used) echo 'tracepoint:syscalls:sys_enter_mprotect, tracepoint:syscalls:sys_enter_mmap,
tracepoint:syscalls:sys_enter_munmap, tracepoint:syscalls:sys_exit_mprotect, tracepoint:syscalls:sys_exit_mmap,
tracepoint:syscalls:sys_exit_munmap /pid == cpid/ { @[probe] = count(); }' ;;
    *) echo 'tracepoint:raw_syscalls:sys_enter, tracepoint:raw_syscalls:sys_exit /pid == cpid/ { @[probe] = count(); }' ;;
  esac
}
bpftrace_syscalls() { bpftrace_on "$(bt_syscalls)" "$@"; }
# Floors of an exit hook other processes would not pay for (hook_floor.bpf.c):
# the mmap_lock tracepoint on the target's write locks, and a task work from
# there that runs at the syscall's return.
hook_floor_lock() { build/tests/hook_floor lock_hook -- "$storm" "$@" 2>/dev/null; }
hook_floor_task_work() { build/tests/hook_floor task_work -- "$storm" "$@" 2>/dev/null; }
vmatrace_rec() { build/vmatrace -o "$tmp/t.vmt" "${vmatrace_opts[@]}" -- "$storm" "$@" 2>/dev/null; }
vmatrace_opts=()

# Which peers work here (a missing one is skipped with a note).
notes=()
have_perf=0 have_perf_trace=0 have_bpftrace=0
if command -v perf >/dev/null; then
  perf record -q -e page-faults -c 1 -d -o "$tmp/perf.data" -- true 2>/dev/null && have_perf=1 ||
    notes+=("perf record does not work here: its rows are skipped")
  perf trace -e getppid -o /dev/null -- true 2>/dev/null && have_perf_trace=1 ||
    notes+=("perf trace does not work here (tracefs, libtraceevent): its rows are skipped")
else
  notes+=("perf is not installed (linux-perf, scripts/install-deps.sh): its rows are skipped")
fi
if command -v bpftrace >/dev/null; then
  bpftrace -e 'BEGIN { exit(); }' >/dev/null 2>&1 && have_bpftrace=1 ||
    notes+=("bpftrace does not work here: its rows are skipped")
else
  notes+=("bpftrace is not installed (scripts/install-deps.sh): its rows are skipped")
fi
have_task_work=0
build/tests/hook_floor task_work -- true 2>/dev/null && have_task_work=1 ||
  notes+=("no BPF task work on the mmap_lock tracepoint here (6.18+): the floor rows that need it are skipped")

# One row: `runs` pairs of an untraced run and a traced one, alternating.
# vmatrace rows also give the events lost (most in any run; must be 0) and the
# trace's bytes per fault.
row() {  # name, tracer function, workload args...
  local name=$1 tracer=$2; shift 2
  : >"$tmp/base"; : >"$tmp/traced"; : >"$tmp/ratio"
  local lost="-" bytes_per_fault="-" b t
  for ((i = 0; i < runs; i++)); do
    b=$(untraced "$@" | ns_per_op)
    t=$("$tracer" "$@" | ns_per_op)
    [ -n "$t" ] || { echo "| $name: the traced run printed no timing (tracer failed) |"; return; }
    echo "$b" >>"$tmp/base"; echo "$t" >>"$tmp/traced"
    awk -v b="$b" -v t="$t" 'BEGIN {print t / b}' >>"$tmp/ratio"
    if [ "$tracer" = vmatrace_rec ]; then
      local report faults size n
      report=$(build/vmatrace report "$tmp/t.vmt" --json)
      n=$(echo "$report" | json_num lost_total)
      [ "$lost" = "-" ] || [ "$n" -gt "$lost" ] && lost=$n
      faults=$(echo "$report" | sed -n 's/^    "total": \([0-9]*\).*/\1/p')  # faults.total
      size=$(stat -c %s "$tmp/t.vmt")
      [ "${faults:-0}" -gt 1000 ] && bytes_per_fault=$(awk -v s="$size" -v f="$faults" 'BEGIN {printf "%.1f", s / f}')
      rm -f "$tmp/t.vmt"
    fi
  done
  local mb mt
  mb=$(median <"$tmp/base"); mt=$(median <"$tmp/traced")
  printf "| %-46s | %9.1f | %9.1f | %6.2fx | %6.2fx | %5s | %7s |\n" "$name" "$mb" "$mt" \
    "$(awk -v b="$mb" -v t="$mt" 'BEGIN {print t / b}')" "$(median <"$tmp/ratio")" "$lost" "$bytes_per_fault"
  [ "$lost" = "-" ] || [ "$lost" = 0 ] || echo "WARNING: $name lost $lost events: this row does not count"
}
table_header() {
  echo "$1"
  echo
  echo "| tracer                                         | untraced  | traced    | ratio   | pair-med | lost  | B/fault |"
  echo "|------------------------------------------------|-----------|-----------|---------|----------|-------|---------|"
}
# vmatrace once with each syscall hook this kernel offers, the best first.
vmatrace_rows() {  # workload args...
  vmatrace_opts=()
  row "vmatrace -o ($(hook_in_use))" vmatrace_rec "$@"
  if [ "$(feature syscall_fentry)" = used ]; then
    vmatrace_opts=(--without syscall_fentry)
    row "vmatrace -o (syscall tracepoints)" vmatrace_rec "$@"
  fi
  if lock_hook_usable; then
    vmatrace_opts=(--mmap-lock-hook)
    row "vmatrace -o --mmap-lock-hook" vmatrace_rec "$@"
  fi
  vmatrace_opts=()
}
hook_in_use() {
  if [ "$(feature syscall_fentry)" = used ]; then echo "fentry/fexit"
  elif [ "$(feature syscall_tracepoints)" = used ]; then echo "syscall tracepoints"
  else echo "raw sys_enter/exit"; fi
}

# `vmatrace watch` (whole machine; defaults, or $watch_args) running beside the
# storm instead of a tracer around it: what every process pays for the watch.
watch_on() {
  build/vmatrace watch --listen 127.0.0.1:0 ${watch_args:-} >"$tmp/watch.out" 2>&1 &
  local watch_pid=$!
  until grep -q '"started"' "$tmp/watch.out" 2>/dev/null; do sleep 0.05; done
  "$storm" "$@"
  kill "$watch_pid"; wait "$watch_pid" || true
}

echo "vmatrace benchmarks ($(echo $sections)), $runs alternating runs each, kernel $(uname -r), $(nproc) CPUs$([ "$quick" = 1 ] && echo ", BENCH_QUICK: tiny sizes, numbers meaningless")"
echo
for n in "${notes[@]}"; do echo "note: $n"; done
[ ${#notes[@]} -gt 0 ] && echo

overhead_tables() {
  table_header "Fault storm: $fault_mib MiB of first touches of fresh 4 KiB pages (ns per fault)"
  [ "$have_perf" = 1 ] && row "perf record -e page-faults -c 1 -d" perf_record faults "$fault_mib"
  [ "$have_perf_trace" = 1 ] && row "perf trace --pf=all" perf_trace_faults faults "$fault_mib"
  [ "$have_bpftrace" = 1 ] && row "bpftrace counting (fault entry, min, maj)" bpftrace_faults faults "$fault_mib"
  vmatrace_rows faults "$fault_mib"
  row "vmatrace watch beside it (whole machine)" watch_on faults "$fault_mib"
  watch_args=--latency row "vmatrace watch --latency beside it" watch_on faults "$fault_mib"
  echo
  table_header "Syscall storm: $syscall_rounds rounds of 2 mprotect flips (split, merge) + mmap + munmap (ns per call)"
  [ "$have_perf_trace" = 1 ] && row "perf trace -e mprotect,mmap,munmap" perf_trace_syscalls syscalls "$syscall_rounds"
  [ "$have_perf_trace" = 1 ] && [ "$(uname -m)" = x86_64 ] &&
    row "perf trace record (mmap, mprotect, munmap)" perf_trace_record_syscalls syscalls "$syscall_rounds"
  [ "$have_bpftrace" = 1 ] && row "bpftrace counting ($(hook_in_use))" bpftrace_syscalls syscalls "$syscall_rounds"
  vmatrace_rows syscalls "$syscall_rounds"
  if [ "$have_task_work" = 1 ]; then
    row "floor: mmap_lock hook, target's write locks" hook_floor_lock syscalls "$syscall_rounds"
    row "floor: + a task work run at each return" hook_floor_task_work syscalls "$syscall_rounds"
  fi
  echo
  echo "untraced, traced: medians over the runs; ratio: their quotient; pair-med: median of per-pair"
  echo "ratios; lost: most events a vmatrace run lost (must be 0); B/fault: trace bytes per recorded fault."
  echo
  fault_windows_table "The traced process's own page faults" --self none counting counting_event_entry \
    least_recording perf_record vmatrace vmatrace_no_entry
  echo "Where vmatrace's time goes (bpf_stats), syscall storm of $syscall_rounds rounds:"
  echo
  program_costs syscalls "$syscall_rounds"
  echo "Fault storm of $fault_mib MiB:"
  echo
  program_costs faults "$fault_mib"
}

# Where a storm's time goes in vmatrace's programs (kernel.bpf_stats_enabled):
# per program, its runs and ns a run over one recording of the workload. The
# programs are the ones that appear while it records; their counters are read
# every 0.1 s, the last reading before they are gone is the table.
program_costs() {  # workload args...
  command -v bpftool >/dev/null && command -v jq >/dev/null || { echo "(no bpftool or jq: no program table)"; return; }
  local stats_was ids_before
  stats_was=$(sysctl -n kernel.bpf_stats_enabled)
  sysctl -qw kernel.bpf_stats_enabled=1
  ids_before=$(bpftool -j prog show | jq -c '[.[].id]')
  build/vmatrace -o "$tmp/p.vmt" -- "$storm" "$@" >"$tmp/p.out" 2>/dev/null & local rec=$!
  while kill -0 "$rec" 2>/dev/null; do
    bpftool -j prog show 2>/dev/null | jq -c --argjson old "$ids_before" \
      '[.[] | select((.id as $i | $old | index($i)) == null) | select(.run_cnt > 0)]' >"$tmp/p.next" &&
      [ "$(jq length "$tmp/p.next")" -gt 0 ] && mv "$tmp/p.next" "$tmp/p.json"
    sleep 0.1
  done
  wait "$rec" || true
  sysctl -qw kernel.bpf_stats_enabled="$stats_was"
  local ops traced_ns
  ops=$(sed -n 's/.*"ops":\([0-9]*\).*/\1/p' "$tmp/p.out")
  traced_ns=$(ns_per_op <"$tmp/p.out")
  echo "| program                  | runs       | ns/run  | ns per op |"
  echo "|--------------------------|------------|---------|-----------|"
  jq -r --argjson ops "${ops:-1}" 'sort_by(-.run_time_ns) | .[] |
    [.name, .run_cnt, (.run_time_ns / .run_cnt), (.run_time_ns / $ops)] | @tsv' "$tmp/p.json" |
    awk -F'\t' '{printf "| %-24s | %10d | %7.1f | %9.1f |\n", $1, $2, $3, $4; t += $4}
      END {printf "| %-24s | %10s | %7s | %9.1f |\n", "all programs", "", "", t}'
  echo
  echo "That recording: $traced_ns ns per op in all (the workload's own clock, with bpf_stats on)."
  rm -f "$tmp/p.vmt" "$tmp/p.json"
  echo
}

# What the rest of the machine pays: a getppid loop and a fault storm in a
# process nobody traces, while a tracer traces one sleeping process.
#
# Tracers beside the sleeper: vmatrace (with $vmatrace_opts), bpftrace
# PROGRAM (SLEEPER stands for its pid), hook_floor PROGRAM (a hook's
# floor, tests/bench/hook_floor.bpf.c), tracefs EVENT... (the kernel's
# own syscall events turned on, no program at all). attach_beside sets
# tracer_pid (empty for tracefs); it returns 1 if the tracer did not attach.
attach_beside() {  # sleeper kind [arg...]
  local sleeper=$1 kind=$2
  shift 2
  tracer_pid=""
  case $kind in
    vmatrace)
      build/vmatrace -p "$sleeper" -o "$tmp/b.vmt" "${vmatrace_opts[@]}" >"$tmp/bt.out" 2>&1 & tracer_pid=$!
      while [ ! -e "$tmp/b.vmt" ]; do
        kill -0 "$tracer_pid" 2>/dev/null || { wait "$tracer_pid"; return 1; }
        sleep 0.05
      done ;;
    tracefs)
      local e
      for e in "$@"; do
        enabled_events+=("$e")  # cleanup turns them off if the script is cut short
        echo 1 >"$tracefs_events/syscalls/$e/enable" || return 1
      done ;;
    bpftrace | hook_floor)
      : >"$tmp/bt.out"
      if [ "$kind" = bpftrace ]; then
        bpftrace -B none -e "${1//SLEEPER/$sleeper}" >"$tmp/bt.out" 2>&1 & tracer_pid=$!
      else
        build/tests/hook_floor "$1" "$sleeper" >"$tmp/bt.out" 2>&1 & tracer_pid=$!
      fi
      local waited=0
      until grep -q -i attach "$tmp/bt.out"; do
        sleep 0.1
        if ((++waited > 600)) || ! kill -0 "$tracer_pid" 2>/dev/null; then
          kill "$tracer_pid" 2>/dev/null; wait "$tracer_pid" 2>/dev/null
          return 1
        fi
      done
      [ "$kind" = bpftrace ] && sleep 1 ;;  # "Attaching" is printed before the attach
  esac
  return 0
}
detach_beside() {  # kind [arg...]
  local kind=$1 e
  shift
  if [ "$kind" = tracefs ]; then
    for e in "$@"; do echo 0 >"$tracefs_events/syscalls/$e/enable"; done
  else
    stop_tracer "$tracer_pid"
  fi
  rm -f "$tmp/b.vmt"
}
# SIGINT, as a user's ^C, again every second: bpftrace 0.17 has been seen to
# sleep through the first one.
stop_tracer() {  # pid
  local tries=0
  while kill -INT "$1" 2>/dev/null && ((tries++ < 30)); do
    for _ in 1 2 3 4 5 6 7 8 9 10; do kill -0 "$1" 2>/dev/null || break 2; sleep 0.1; done
  done
  kill -KILL "$1" 2>/dev/null || true
  wait "$1" || true
}
beside_sleeper() {  # name kind [arg...]
  local name=$1
  shift
  : >"$tmp/sc_base"; : >"$tmp/sc_traced"; : >"$tmp/pf_base"; : >"$tmp/pf_traced"
  for ((i = 0; i < runs; i++)); do
    "$storm" getppid "$getppid_calls" | ns_per_op >>"$tmp/sc_base"
    "$storm" faults "$bystander_mib" | ns_per_op >>"$tmp/pf_base"
    build/workloads/sleeper 300 & local sleeper=$!
    if ! attach_beside "$sleeper" "$@"; then
      echo "| $name: did not attach: $(tr '\n' ' ' <"$tmp/bt.out" 2>/dev/null) |"
      kill "$sleeper"; wait "$sleeper" 2>/dev/null || true
      return
    fi
    "$storm" getppid "$getppid_calls" | ns_per_op >>"$tmp/sc_traced"
    "$storm" faults "$bystander_mib" | ns_per_op >>"$tmp/pf_traced"
    detach_beside "$@"
    kill "$sleeper"; wait "$sleeper" 2>/dev/null || true
  done
  local sb st pb pt
  sb=$(median <"$tmp/sc_base"); st=$(median <"$tmp/sc_traced")
  pb=$(median <"$tmp/pf_base"); pt=$(median <"$tmp/pf_traced")
  printf "| %-46s | %7.1f | %7.1f | %+7.1f | %7.1f | %7.1f | %6.3fx |\n" "$name" "$sb" "$st" \
    "$(awk -v b="$sb" -v t="$st" 'BEGIN {print t - b}')" "$pb" "$pt" "$(awk -v b="$pb" -v t="$pt" 'BEGIN {print t / b}')"
}
bystander_table() {
  echo "Another process, not traced, while one sleeping process is (getppid: $getppid_calls calls; faults: $bystander_mib MiB)"
  echo
  echo "| tracing the sleeper                            | getppid | traced  | extra ns| fault ns| traced  | ratio   |"
  echo "|------------------------------------------------|---------|---------|---------|---------|---------|---------|"
  vmatrace_opts=()
  beside_sleeper "vmatrace ($(hook_in_use))" vmatrace
  if [ "$(feature syscall_fentry)" = used ]; then
    vmatrace_opts=(--without syscall_fentry)
    beside_sleeper "vmatrace (syscall tracepoints)" vmatrace
  fi
  vmatrace_opts=(--without syscall_fentry,syscall_tracepoints)
  beside_sleeper "vmatrace, raw sys_enter/exit" vmatrace
  # Where another process's faults go: vmatrace without its fault-entry
  # tracepoint (the target's page-fault perf events alone), and a peer on the
  # same fault hooks system-wide, filtered to the sleeper like vmatrace.
  vmatrace_opts=(--without fault_tracepoints)
  beside_sleeper "vmatrace, fault perf events only" vmatrace
  if lock_hook_usable; then
    vmatrace_opts=(--mmap-lock-hook)
    beside_sleeper "vmatrace --mmap-lock-hook" vmatrace
  fi
  vmatrace_opts=()
  # The floors: what the hooks cost with no tracer's work on them. Any syscall
  # tracepoint sends every syscall of every process through the kernel's slow
  # path (syscall_regfunc sets SYSCALL_WORK_SYSCALL_TRACEPOINT on all tasks).
  if [ -d "$tracefs_events/syscalls/sys_enter_mprotect" ]; then
    beside_sleeper "kernel alone: sys_enter_mprotect on" tracefs sys_enter_mprotect
    beside_sleeper "kernel alone: sys_enter_, sys_exit_mprotect on" tracefs sys_enter_mprotect sys_exit_mprotect
  fi
  beside_sleeper "an empty program on the fault-entry hook" hook_floor empty
  beside_sleeper "a tgid test on the fault-entry hook" hook_floor tgid_test
  if [ "$have_bpftrace" = 1 ]; then
    beside_sleeper "bpftrace, one tracepoint (sys_enter_mprotect)" bpftrace \
      'tracepoint:syscalls:sys_enter_mprotect /pid == SLEEPER/ { @ = count(); }'
    # vmatrace's syscall hooks come in pairs: what an enter and an exit
    # tracepoint cost the syscalls of a process neither traces.
    beside_sleeper "bpftrace, sys_enter_ and sys_exit_mprotect" bpftrace \
      'tracepoint:syscalls:sys_enter_mprotect /pid == SLEEPER/ { @a = count(); }
tracepoint:syscalls:sys_exit_mprotect /pid == SLEEPER/ { @b = count(); }'
    beside_sleeper "bpftrace, vmatrace's fault hooks, sleeper only" bpftrace "${bt_faults//cpid/SLEEPER}"
  fi
  echo
  fault_windows_table "Another process's page faults while one sleeping process is traced" "" \
    none perf_count perf_count_entry perf_record empty tgid_test counting counting_event_entry vmatrace \
    vmatrace_no_entry watch_latency
}

# Whole storms, tracer started and stopped around each, move by ±10-50% from
# run to run here: the host's noise drifts slower than a few milliseconds, so
# fault_windows attaches and detaches the hooks between adjacent windows of a
# few MiB of first touches (tests/bench/fault_windows.cpp) and compares them
# pair by pair.
fault_windows_table() {  # title, --self or "", hook kinds...
  local title=$1 pairs=$((quick == 1 ? 20 : 300)) mib=4 kind self=()
  [ -n "$2" ] && self=("$2")
  shift 2
  echo "$title, the hooks attached and detached in alternate windows of $mib MiB of first touches:"
  echo "$pairs pairs, in random order within each pair (ns per fault, medians)"
  echo
  echo "| hooks                                      | pairs | detached | attached | extra  | ratio   | pair-med | 95% CI      |"
  echo "|--------------------------------------------|-------|----------|----------|--------|---------|----------|-------------|"
  for kind in "$@"; do
    build/tests/fault_windows "${self[@]}" "$kind" "$pairs" "$mib" || echo "| $kind: did not run |"
  done
  echo
  echo "ratio: of the medians; pair-med: median of the pairs' ratios, with its 95% confidence interval."
  echo
}

# report (summary, storms and heatmap) over 10 M-event traces: a real
# recording of periodic fault storms with calm between (a page every 20 ms
# for as long as the storm took and QUIET_MS more: storms back to back would
# be the trace's baseline, and no storm), and a synthetic worst case for the
# VMA model (faults spread over 1,000 VMAs, a VMA split and merged back every
# 100 faults, a storm every 5 s).
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
report_table() {
  build/vmatrace -o "$tmp/real.vmt" -- build/workloads/watchstorm "$storm_mib" 150 "$storms" 1 "$tmp/ws.json" \
    >/dev/null 2>&1
  build/tests/make_trace "$tmp/synthetic.vmt" "$report_events" 5 >/dev/null
  echo "| report (summary+storms+heatmap)    | events    | median   | events/s   | peak RSS  | storms |"
  echo "|------------------------------------|-----------|----------|------------|-----------|--------|"
  report_bench "recorded: $storms storms of $storm_mib MiB" "$tmp/real.vmt"
  report_bench "synthetic: VMA churn every 100 faults" "$tmp/synthetic.vmt"
  rm -f "$tmp/real.vmt" "$tmp/synthetic.vmt"
  echo
}

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
# An idle recording's resident memory: a sleeping process traced for idle_s.
idle_rss_kib() {
  build/workloads/sleeper 300 & local sleeper=$!
  build/vmatrace -p "$sleeper" -o "$tmp/idle.vmt" --plain >/dev/null 2>&1 & local rec=$!
  while [ ! -e "$tmp/idle.vmt" ]; do sleep 0.05; done
  sleep "$idle_s"
  awk '/^VmRSS/ {print $2}' "/proc/$rec/status"
  kill -INT "$rec"; wait "$rec" || true
  kill "$sleeper"; wait "$sleeper" 2>/dev/null || true
  rm -f "$tmp/idle.vmt"
}
faults_in() { build/vmatrace report "$1" --json | sed -n 's/^    "total": \([0-9]*\).*/\1/p'; }
memory_row() {  # name, count, KiB
  printf "| %-46s | %13s | %6.1f MiB |\n" "$1" "$2" "$(awk -v k="$3" 'BEGIN {print k / 1024}')"
}
report_rss_kib() {  # events: report + heatmap over a synthetic trace of that many
  build/tests/make_trace "$tmp/mem.vmt" "$1" 5 >/dev/null
  /usr/bin/time -f "%M" -o "$tmp/rss" build/vmatrace report "$tmp/mem.vmt" --heatmap "$tmp/h.svg" >/dev/null
  rm -f "$tmp/mem.vmt"
  cat "$tmp/rss"
}
memory_table() {
  local rec1 rec10 f1 f10 idle flight rep10 rep100
  rec1=$(peak_rss_kib build/vmatrace -o "$tmp/m1.vmt" --plain -- "$storm" faults "$storm_mib" "${mem_rounds[0]}")
  f1=$(faults_in "$tmp/m1.vmt"); rm -f "$tmp/m1.vmt"
  rec10=$(peak_rss_kib build/vmatrace -o "$tmp/m10.vmt" --plain -- "$storm" faults "$storm_mib" "${mem_rounds[1]}")
  f10=$(faults_in "$tmp/m10.vmt"); rm -f "$tmp/m10.vmt"
  flight=$(peak_rss_kib build/vmatrace -o "$tmp/f.vmt" --plain --flight 10 -- "$storm" faults "$storm_mib" "${mem_rounds[1]}")
  rm -f "$tmp/f.vmt"
  idle=$(idle_rss_kib)
  rep10=$(report_rss_kib "$report_events")
  rep100=$(report_rss_kib "$big_report_events")
  echo "| memory                                         | faults/events | RSS        |"
  echo "|------------------------------------------------|---------------|------------|"
  memory_row "recorder, $storm_mib MiB fault storm x${mem_rounds[0]}, peak" "$f1" "$rec1"
  memory_row "recorder, $storm_mib MiB fault storm x${mem_rounds[1]}, peak" "$f10" "$rec10"
  memory_row "recorder growth per million faults" "" \
    "$(awk -v a="$rec1" -v b="$rec10" -v fa="$f1" -v fb="$f10" 'BEGIN {print (fb > fa) ? (b - a) / ((fb - fa) / 1e6) : 0}')"
  memory_row "recorder --flight 10, the same x${mem_rounds[1]}, peak" "$f10" "$flight"
  memory_row "idle recording (sleeping target), resident" "" "$idle"
  memory_row "report + heatmap, synthetic, peak" "$report_events" "$rep10"
  memory_row "report + heatmap, synthetic, peak" "$big_report_events" "$rep100"
  memory_row "report growth per 10 M events" "" \
    "$(awk -v a="$rep10" -v b="$rep100" -v na="$report_events" -v nb="$big_report_events" 'BEGIN {print (b - a) / ((nb - na) / 1e7)}')"
  echo
  # What keeping the last 10 s in memory costs the fault storm.
  table_header "Flight recorder on the fault storm: $fault_mib MiB of first touches (ns per fault)"
  vmatrace_opts=(--flight 10)
  row "vmatrace -o --flight 10" vmatrace_rec faults "$fault_mib"
  vmatrace_opts=()
  echo
}

micro() {
  if [ -x build/tests/micro_bench ] && [ "$quick" != 1 ]; then
    build/tests/micro_bench --benchmark_repetitions=3 --benchmark_report_aggregates_only=true 2>/dev/null
  fi
}

section overhead && overhead_tables
section bystander && bystander_table
section report && report_table
section memory && memory_table
section micro && micro
exit 0
