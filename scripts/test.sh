#!/usr/bin/env bash
# The whole test suite: unit tests, then end-to-end tests that load the real
# BPF programs (root required; in CI a missing root is a failure, not a skip);
# then the unit tests under ASan and UBSan, the fuzzers (two at a time,
# VMATRACE_FUZZ_SECONDS each, 30 by default), and the e2e suite again inside
# Debian's 6.1 and 6.12 kernels (scripts/test-kernels.sh;
# VMATRACE_SKIP_KERNELS=1 leaves it out). Every stage runs and says how long
# it took; the script fails if any failed.
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
stage ctest bash -c 'cd build && ctest --output-on-failure --timeout 600'
stage sanitizers scripts/sanitize.sh
stage fuzzers scripts/fuzz.sh "${VMATRACE_FUZZ_SECONDS:-30}"
# The kernel matrix runs every time and prints its table; it gates only with
# VMATRACE_KERNELS_GATE=1 until a whole run fits CI's time under emulation.
if [ "${VMATRACE_SKIP_KERNELS:-0}" != 1 ]; then
  if [ "${VMATRACE_KERNELS_GATE:-0}" = 1 ]; then
    stage "kernel matrix" scripts/test-kernels.sh
  else
    stage "kernel matrix" bash -c 'scripts/test-kernels.sh || echo "test.sh: the kernel matrix had failures (advisory, see its table above)"'
  fi
fi
printf 'test.sh: %s\n' "${timings[@]}"
if [ ${#failed[@]} -gt 0 ]; then
  echo "test.sh: FAILED: ${failed[*]}"
  exit 1
fi
echo "test.sh: every stage passed"
