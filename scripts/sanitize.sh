#!/usr/bin/env bash
# The unit tests under AddressSanitizer and UndefinedBehaviorSanitizer, built
# in build-asan/: a memory error, a leak or any undefined behaviour fails.
set -euo pipefail
cd "$(dirname "$0")/.."
cmake -S . -B build-asan -DVMATRACE_SANITIZE=ON -DCMAKE_BUILD_TYPE=Debug >/dev/null
cmake --build build-asan -j"$(nproc)" --target unit_tests
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:strict_string_checks=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
build-asan/tests/unit_tests --gtest_brief=1
