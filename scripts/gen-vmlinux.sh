#!/usr/bin/env bash
# Regenerates bpf/vmlinux.h from this machine's kernel BTF. The committed
# header only needs the types vmatrace uses; CO-RE relocates field offsets
# for whichever kernel it runs on.
set -euo pipefail
cd "$(dirname "$0")/.."
bpftool btf dump file /sys/kernel/btf/vmlinux format c > bpf/vmlinux.h
echo "bpf/vmlinux.h regenerated from $(uname -r)"
