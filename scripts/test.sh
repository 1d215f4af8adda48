#!/usr/bin/env bash
# The whole test suite: unit tests, then end-to-end tests that load the real
# BPF programs (root required; in CI a missing root is a failure, not a skip);
# then the unit tests under ASan and UBSan, and each fuzzer for a minute.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/build.sh
(cd build && ctest --output-on-failure --timeout 600)
scripts/sanitize.sh
scripts/fuzz.sh 60
