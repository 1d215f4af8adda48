#!/usr/bin/env bash
# Installs what is missing and builds vmatrace, its tests and benchmarks in build/.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
# CI builds fail on a compiler warning.
werror=OFF
if [ -n "${CI:-}" ]; then werror=ON; fi
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo -DVMATRACE_WERROR=$werror >/dev/null
cmake --build build -j"$(nproc)" >/dev/null
