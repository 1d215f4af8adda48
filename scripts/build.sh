#!/usr/bin/env bash
# Installs what is missing and builds vmatrace, its tests and benchmarks in build/.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
# CI builds fail on a compiler warning, and skip link-time optimisation: it
# re-optimises the whole library at every test binary's link, minutes of CI's
# budget for a speed-up only the report benchmarks see.
flags=(-DVMATRACE_WERROR=OFF)
if [ -n "${CI:-}" ]; then flags=(-DVMATRACE_WERROR=ON -DCMAKE_INTERPROCEDURAL_OPTIMIZATION=OFF); fi
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo "${flags[@]}" >/dev/null
cmake --build build -j"$(nproc)" >/dev/null
