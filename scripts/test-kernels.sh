#!/usr/bin/env bash
# Boots other kernels in QEMU and runs the e2e suite inside each, printing a
# pass/fail table per kernel. Usage:
#   scripts/test-kernels.sh [--filter GTEST_FILTER] [--cmd 'SHELL CMD'] [KERNEL_PACKAGE...]
# Default kernels: Debian 12's stock 6.1 and the 6.12 LTS (cloud flavour, BTF
# built in), resolved from their meta-packages. Downloaded kernels are cached in
# $VMATRACE_KERNEL_CACHE (default /var/cache/vmatrace-kernels), outside the tree.
# The guest gets the build tree at its absolute path in an initramfs, so the
# e2e binary finds vmatrace and the workloads where it was built to.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
cache=${VMATRACE_KERNEL_CACHE:-/var/cache/vmatrace-kernels}
# Every e2e test but two whose trigger is a fault *rate*: the watch's storm
# captures need storms faster than an emulated guest faults (their logic is
# the kernel's counters read from /proc, tested on the host).
default_filter='*:-Watch.OneCapturePerStormWithinTheCooldownAndItsReportNamesTheStorm:Watch.CaptureDirKeepsTheNewestAndOnlyRemovesItsOwnFiles'
filter=$default_filter
# Where the kernel allows fentry (both Debian kernels), recordings use it, and
# attaching its 43 trampolines costs ~4 s a start in an emulated guest: the
# suite would outgrow its time. So these tests, of the hooks and of the model's
# exactness, run as a recording does by default; the rest with the syscall
# tracepoints (VMATRACE_WITHOUT=syscall_fentry), whose handler is the same.
# A --filter of one's own runs as by default, in one pass.
default_mode_tests='Kernels/Degraded.*:KernelSide.*:Maps/Churn.*4_threads:Maps.EveryKindOfChangeMatchesProcMaps:Maps.ARefusedSnapshotLeavesTheModelUncertainUntilItIsRepaired'
cmd=''
kernels=()
while [ $# -gt 0 ]; do
  case "$1" in
    --filter) filter=$2; shift 2 ;;
    --cmd) cmd=$2; shift 2 ;;
    -h|--help) sed -n '2,10p' "$0"; exit 0 ;;
    *) kernels+=("$1"); shift ;;
  esac
done

need=(qemu-system-x86 busybox-static cpio zstd e2fsprogs)
missing=()
for p in "${need[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "test-kernels: installing ${missing[*]}" >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
[ -x build/vmatrace ] && [ -x build/tests/e2e_tests ] || scripts/build.sh

# The newest kernel a meta-package points at.
resolve() { apt-cache depends "$1" 2>/dev/null | awk '/Depends: linux-image-/ {print $2; exit}'; }
if [ ${#kernels[@]} -eq 0 ]; then
  for meta in linux-image-cloud-amd64 linux-image-6.12-cloud-amd64; do
    k=$(resolve "$meta")
    if [ -z "$k" ]; then apt-get update -qq >/dev/null; k=$(resolve "$meta"); fi
    [ -n "$k" ] || { echo "test-kernels: cannot resolve $meta" >&2; exit 1; }
    kernels+=("$k")
  done
fi

fetch_kernel() {  # prints the path of the kernel's vmlinuz
  local pkg=$1 dir="$cache/$1"
  if ! ls "$dir"/boot/vmlinuz-* >/dev/null 2>&1; then
    mkdir -p "$cache"
    (cd "$cache" && rm -f "${pkg}"_*.deb && apt-get download "$pkg" >/dev/null 2>&1 ||
       { apt-get update -qq >/dev/null && apt-get download "$pkg" >/dev/null; })
    rm -rf "$dir.tmp" && mkdir -p "$dir.tmp"
    dpkg-deb -x "$cache/${pkg}"_*.deb "$dir.tmp"
    rm -rf "$dir" && mv "$dir.tmp" "$dir"
  fi
  ls "$dir"/boot/vmlinuz-*
}

work=$(mktemp -d /tmp/vmatrace-vm.XXXXXX)
trap 'rm -rf "$work"' EXIT
stage=$work/root

# A file and the shared libraries it needs, at the same absolute paths.
add_file() {
  local f=$1
  mkdir -p "$stage$(dirname "$f")"
  cp -L "$f" "$stage$f"
}
add_binary() {
  add_file "$1"
  strip --strip-debug "$stage$1" 2>/dev/null || true
  ldd "$1" 2>/dev/null | grep -o '/[^ ]*' | while read -r lib; do
    [ -e "$stage$lib" ] || add_file "$lib"
  done
}

make_initramfs() {
  mkdir -p "$stage"/{bin,vm,etc,root}
  cp /bin/busybox "$stage/bin/busybox"
  cp scripts/vm/init "$stage/init"
  chmod +x "$stage/init"
  echo 'root:x:0:0:root:/root:/bin/sh' > "$stage/etc/passwd"
  echo 'root:x:0:' > "$stage/etc/group"
  echo 'nobody:x:65534:65534:nobody:/:/bin/sh' >> "$stage/etc/passwd"
  echo 'nogroup:x:65534:' >> "$stage/etc/group"
  add_binary "$root/build/vmatrace"
  add_binary "$root/build/tests/e2e_tests"
  for w in "$root"/build/workloads/*; do add_binary "$w"; done
  # For --cmd: the bench's alternate-window measure of page faults.
  [ -x "$root/build/tests/fault_windows" ] && add_binary "$root/build/tests/fault_windows"
  for b in /usr/bin/setpriv /usr/bin/tmux /usr/bin/env /usr/sbin/bpftool /usr/bin/curl /usr/bin/prometheus; do [ -x "$b" ] && add_binary "$b"; done
  # tmux insists on a UTF-8 locale: glibc's C.UTF-8.
  [ -d /usr/lib/locale/C.utf8 ] && mkdir -p "$stage/usr/lib/locale" && cp -r /usr/lib/locale/C.utf8 "$stage/usr/lib/locale/"
  [ -d /usr/share/terminfo ] && mkdir -p "$stage/usr/share" && cp -r /usr/share/terminfo "$stage/usr/share/"
  [ -d /lib/terminfo ] && mkdir -p "$stage/lib" && cp -r /lib/terminfo "$stage/lib/"
  local e2e=$root/build/tests/e2e_tests passes
  if [ "$filter" = "$default_filter" ]; then
    passes="pass VMATRACE_WITHOUT=syscall_fentry $e2e --gtest_filter='$filter:$default_mode_tests'
pass $e2e --gtest_filter='$default_mode_tests'"
  else
    passes="pass $e2e --gtest_filter='$filter'"
  fi
  if [ -n "$cmd" ]; then
    printf '%s\n' "$cmd" > "$stage/vm/cmd"
  else
    # The e2e tests' temp dirs on a real disk (ext4 on NVMe, both built into
    # these kernels): the initramfs is tmpfs, where no fault is ever major.
    cat > "$stage/vm/cmd" <<CMD
mkdir -p $root/build/e2e-tmp && mount -t ext4 /dev/nvme0n1 $root/build/e2e-tmp || echo "test-kernels: no disk for e2e-tmp"
$root/build/vmatrace check
# The churn tests' threads would outrun a recorder that shares an emulated
# CPU with them (tests/workloads/churn.c).
export VMATRACE_CHURN_PAUSE_US=${VMATRACE_CHURN_PAUSE_US:-1000}
# An emulated guest's clock stalls whenever the host is busy: a test that
# failed gets one more run (in this boot), and the table says so.
# Streamed to the console as it runs: a run cut off by the timeout still
# shows how far it got.
status=0
pass() {  # [VAR=value] e2e_tests --gtest_filter=...
  (env "\$@" --gtest_color=no; echo \$? > /tmp/e2e.rc) 2>&1 | tee /tmp/e2e.log
  [ \$(cat /tmp/e2e.rc) = 0 ] && return
  failed=\$(sed -n 's/^\[  FAILED  \] \([A-Za-z][A-Za-z0-9_/.]*\).*/\1/p' /tmp/e2e.log | sort -u | tr '\n' ':')
  echo "@@VM-RETRY \$failed"
  env "\$@" --gtest_filter="\$failed" --gtest_color=no || status=1
}
$passes
exit \$status
CMD
  fi
  (cd "$stage" && find . | cpio -o -H newc --quiet | zstd -q -3 -T0 > "$work/initrd.zst")
}

# KVM only where a quick boot shows it works; TCG otherwise.
accel=tcg
if [ -w /dev/kvm ] && [ "${VMATRACE_VM_KVM:-probe}" != no ]; then
  if timeout 20 qemu-system-x86_64 -accel kvm -cpu host -m 256 -nographic -no-reboot \
       -kernel "$(fetch_kernel "${kernels[0]}")" -append "console=ttyS0 panic=-1 quiet" 2>/dev/null |
       grep -q -m1 -e 'Kernel panic' -e 'VFS'; then
    accel=kvm
  fi
fi

run_kernel() {  # kernel package, log file
  local vmlinuz
  vmlinuz=$(fetch_kernel "$1")
  local cpu=max
  [ "$accel" = kvm ] && cpu=host
  local disk=$work/$1.disk
  rm -f "$disk" && truncate -s 1G "$disk" && mkfs.ext4 -q -F "$disk"
  # no_timer_check: a starved emulated CPU misses the IO-APIC timer test and
  # the kernel panics at boot ("IO-APIC + timer doesn't work!").
  # 1,800 s: in CI, beside the host's stages, the suite took 1,230-1,500 s.
  timeout "${VMATRACE_VM_TIMEOUT:-1800}" qemu-system-x86_64 -accel "$accel" -cpu "$cpu" -m 2048 \
    -drive "file=$disk,if=none,id=scratch,format=raw" -device nvme,serial=vmatrace,drive=scratch \
    -smp "${VMATRACE_VM_CPUS:-2}" -nographic -no-reboot -kernel "$vmlinuz" -initrd "$work/initrd.zst" \
    -append "console=ttyS0 panic=-1 edd=off quiet rdinit=/init no_timer_check" </dev/null >"$2" 2>&1 || true
}

make_initramfs
echo "test-kernels: accelerator $accel, initramfs $(du -h "$work/initrd.zst" | cut -f1)" >&2
status=0
summary=()
# Kernels boot side by side, one vCPU each: TCG runs a vCPU per host thread,
# so on this 2-core machine two guests finish sooner than one after the other.
parallel=${VMATRACE_VM_PARALLEL:-$(( $(nproc) >= 2 ? 1 : 0 ))}
[ "$parallel" = 1 ] && [ ${#kernels[@]} -gt 1 ] && export VMATRACE_VM_CPUS=${VMATRACE_VM_CPUS:-1}
start=$(date +%s)
mkdir -p build/kernel-logs  # each guest's console as it runs: build/kernel-logs/KERNEL.console
pids=()
for k in "${kernels[@]}"; do
  fetch_kernel "$k" >/dev/null  # downloads one at a time, before any guest runs
  echo "test-kernels: booting $k" >&2
  if [ "$parallel" = 1 ]; then
    run_kernel "$k" "build/kernel-logs/$k.console" &
    pids+=($!)
  else
    run_kernel "$k" "build/kernel-logs/$k.console"
  fi
done
for p in "${pids[@]}"; do wait "$p" || true; done
secs=$(( $(date +%s) - start ))
for k in "${kernels[@]}"; do
  log=$work/$k.log
  # The serial console's carriage returns and terminal resets, gone.
  tr -d '\r' < "build/kernel-logs/$k.console" | sed 's/\x1b\[[0-9;?]*[a-zA-Z]//g; s/\x1bc//g' > "$log"
  mkdir -p build/kernel-logs && cp "$log" "build/kernel-logs/$k.log"
  # Results as gtest printed them, one line per test.
  # The last word on each test counts (a retried test's second run).
  # (A parameterised test's failure reads "NAME, where GetParam() = ...".)
  sed -n 's/^\[ *\(OK\|FAILED\|SKIPPED\) *\] \([A-Za-z][A-Za-z0-9_/.]*\)[, ].*/\1 \2/p' "$log" |
    awk '{st[$2] = $1} END {for (n in st) print st[n], n}' | sort -k2 > "$work/$k.res"
  pass=$(grep -c '^OK ' "$work/$k.res" || true)
  fail=$(grep -c '^FAILED ' "$work/$k.res" || true)
  skip=$(grep -c '^SKIPPED ' "$work/$k.res" || true)
  rc=$(sed -n 's/^@@VM-RC \([0-9]*\).*/\1/p' "$log" | tail -1)
  echo
  echo "== $k ($(sed -n 's/^@@VM-KERNEL //p' "$log"), exit ${rc:-none})"
  if [ -n "$cmd" ]; then
    sed -n '/^@@VM-KERNEL/,/^@@VM-RC/p' "$log"
  else
    awk '{printf "  %-8s %s\n", $1, $2}' "$work/$k.res"
    sed -n 's/^@@VM-RETRY \(.*\)/  retried once: \1/p' "$log" | tr ':' ' '
    sed -n '/^@@VM-KERNEL/,/^\[==========\] Running/p' "$log" | grep -v '^@@' | sed 's/^/  | /'
    # A failure's own words, so that CI's log says why without the guest's log.
    awk '/^\[ RUN/ {buf=""} {buf=buf"\n"$0} /^\[  FAILED  \]/ && buf != "" {print buf; buf=""}' "$log" |
      awk 'NR <= 300 {print "  ! " $0}'  # all of its input read: no SIGPIPE under pipefail
  fi
  summary+=("$(printf '%-42s %4s passed %4s failed %4s skipped  exit %s' "$k" "$pass" "$fail" "$skip" "${rc:-none}")")
  if [ "${rc:-1}" != 0 ] || [ "$fail" != 0 ] || [ -z "$cmd" -a "$pass" = 0 ]; then status=1; fi
done
echo
echo "test-kernels: ${secs}s in all"
echo
echo "kernel                                      results"
printf '%s\n' "${summary[@]}"
[ $status -eq 0 ] && echo "test-kernels: all kernels passed" || echo "test-kernels: FAILED (logs in build/kernel-logs/)"
exit $status
