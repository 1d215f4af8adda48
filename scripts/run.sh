#!/usr/bin/env bash
# Quick start: install, build, then run vmatrace with the given arguments,
# e.g. scripts/run.sh -- ls -l /    or    scripts/run.sh -p 1234 -d 5
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/build.sh
exec build/vmatrace "$@"
