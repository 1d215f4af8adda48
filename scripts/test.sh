#!/usr/bin/env bash
# The whole test suite: unit tests, then end-to-end tests that load the real
# BPF programs (root required; in CI a missing root is a failure, not a skip);
# then the unit tests under ASan and UBSan, each fuzzer for a minute, and the
# e2e suite again inside Debian's 6.1 and 6.12 kernels (scripts/test-kernels.sh).
# Every stage runs; the script fails if any did.
set -uo pipefail
cd "$(dirname "$0")/.."
scripts/build.sh || exit 1
failed=()
(cd build && ctest --output-on-failure --timeout 600) || failed+=("ctest")
scripts/sanitize.sh || failed+=("sanitizers")
scripts/fuzz.sh 60 || failed+=("fuzzers")
if [ "${VMATRACE_SKIP_KERNELS:-0}" != 1 ]; then
  scripts/test-kernels.sh || failed+=("kernel matrix")
fi
if [ ${#failed[@]} -gt 0 ]; then
  echo "test.sh: FAILED: ${failed[*]}"
  exit 1
fi
echo "test.sh: every stage passed"
