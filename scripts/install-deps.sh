#!/usr/bin/env bash
# Installs the Debian 12 packages vmatrace needs to build and test, only if
# some are missing (so that a ready machine does not touch the network).
# libclang-rt-14-dev: libFuzzer and clang's sanitizer runtimes (scripts/fuzz.sh).
set -euo pipefail
# prometheus (the server) and curl: the watch e2e tests scrape and query with them;
# libclang-rt-14-dev: clang's sanitizer and libFuzzer runtimes (scripts/fuzz.sh, sanitize.sh);
# linux-perf and bpftrace: the peers scripts/bench.sh measures vmatrace against.
pkgs=(cmake make g++ pkg-config clang libclang-rt-14-dev bpftool libbpf-dev libelf-dev zlib1g-dev libzstd-dev
      libcli11-dev nlohmann-json3-dev libdw-dev tmux time libgtest-dev libbenchmark-dev util-linux
      prometheus-cpp-dev prometheus curl linux-perf bpftrace)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" -ne 0 ]; then
  echo "install-deps: missing packages: ${missing[*]} (run as root to install them)" >&2
  exit 1
fi
echo "install-deps: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
