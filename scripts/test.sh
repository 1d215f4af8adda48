#!/usr/bin/env bash
# The whole test suite: unit tests, then end-to-end tests that load the real
# BPF programs (root required; in CI a missing root is a failure, not a skip);
# then the unit tests under ASan and UBSan, the fuzzers (two at a time,
# VMATRACE_FUZZ_SECONDS each, 30 by default), and the e2e suite again inside
# Debian's 6.1 and 6.12 kernels (scripts/test-kernels.sh). The kernel matrix
# starts as soon as the build is done and runs beside everything else at the
# lowest priority (nice 19): the host's e2e tests, which time real events,
# keep the CPUs whenever they want them, and the emulated guests (whose tests
# are written for a starved clock) take what is left. The sanitizer and fuzz
# stages share that lowest priority with the guests.
# VMATRACE_SKIP_KERNELS=1 leaves the kernels out. Their failures are
# advisory: a guest starved of CPU can still fail a timed test now and then,
# retried once in the same boot (VMATRACE_KERNELS_GATE=1 makes them fail the run). Every stage says how long it took; the
# script fails if any failed.
set -uo pipefail
cd "$(dirname "$0")/.."
failed=()
timings=()
stage() {  # name, command...
  local name=$1 began=$SECONDS
  shift
  "$@" || failed+=("$name")
  timings+=("$(printf '%-14s %5ds' "$name" $((SECONDS - began)))")
}
stage build scripts/build.sh
if [[ " ${failed[*]} " == *" build "* ]]; then
  echo "test.sh: FAILED: build"
  exit 1
fi
kernels=0
if [ "${VMATRACE_SKIP_KERNELS:-0}" != 1 ]; then
  kernels=1
  matrix_log=build/kernel-matrix.out
  matrix_began=$SECONDS
  nice -n 19 scripts/test-kernels.sh >"$matrix_log" 2>&1 &
  matrix_pid=$!
  echo "test.sh: the kernel matrix runs in the background (guest consoles as they run: build/kernel-logs/*.console)"
fi
stage ctest bash -c 'cd build && ctest --output-on-failure --timeout 600'
stage sanitizers nice -n 19 scripts/sanitize.sh
stage fuzzers nice -n 19 scripts/fuzz.sh "${VMATRACE_FUZZ_SECONDS:-30}"
if [ $kernels = 1 ]; then
  wait "$matrix_pid"
  matrix_rc=$?
  cat "$matrix_log"
  timings+=("$(printf '%-14s %5ds (beside the other stages)' "kernel matrix" $((SECONDS - matrix_began)))")
  if [ $matrix_rc != 0 ]; then
    if [ "${VMATRACE_KERNELS_GATE:-0}" = 1 ]; then
      failed+=("kernel matrix")
    else
      echo "test.sh: the kernel matrix had failures (advisory; VMATRACE_KERNELS_GATE=1 makes them count)"
    fi
  fi
fi
printf 'test.sh: %s\n' "${timings[@]}"
if [ ${#failed[@]} -gt 0 ]; then
  echo "test.sh: FAILED: ${failed[*]}"
  exit 1
fi
echo "test.sh: every stage passed"
