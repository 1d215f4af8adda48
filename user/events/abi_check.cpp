// The ABI structs must have the same layout on both sides of the ring buffer:
// clang -target bpf and the host compiler agree only if nothing is implicit.
#include <cstddef>

#include "events/abi.h"

#define VT_ASSERT_LAYOUT(type, size)                                         \
  static_assert(sizeof(struct type) == (size), #type " size changed");       \
  static_assert(alignof(struct type) == 8, #type " alignment changed")

VT_ASSERT_LAYOUT(vt_hdr, 24);
VT_ASSERT_LAYOUT(vt_syscall_event, 24 + 16 + 48);
VT_ASSERT_LAYOUT(vt_fault_event, 24 + 32);
VT_ASSERT_LAYOUT(vt_vma_event, 24 + 40 + 16 + VT_PATH_MAX);
VT_ASSERT_LAYOUT(vt_exec_event, 24 + 16 + VT_PATH_MAX);
VT_ASSERT_LAYOUT(vt_fork_event, 24 + 24);
VT_ASSERT_LAYOUT(vt_snapshot_event, 24 + 48 + 16);
VT_ASSERT_LAYOUT(vt_exit_event, 24 + 8);

static_assert(offsetof(vt_hdr, kind) == 16 && offsetof(vt_hdr, size) == 18, "vt_hdr fields moved");
static_assert(offsetof(vt_syscall_event, ret) == 32 && offsetof(vt_syscall_event, args) == 40,
              "vt_syscall_event fields moved");
static_assert(offsetof(vt_fault_event, addr) == 24 && offsetof(vt_fault_event, latency_ns) == 40 &&
                  offsetof(vt_fault_event, flags) == 46,
              "vt_fault_event fields moved");
static_assert(offsetof(vt_fault_event, stack_id) == 48, "vt_fault_event fields moved");
static_assert(offsetof(vt_vma_event, dev) == 64 && offsetof(vt_vma_event, path) == 80,
              "vt_vma_event fields moved");
static_assert(offsetof(vt_exec_event, mm) == 32 && offsetof(vt_exec_event, filename) == 40,
              "vt_exec_event fields moved");
static_assert(offsetof(vt_snapshot_event, count) == 72 && offsetof(vt_snapshot_event, reason) == 80,
              "vt_snapshot_event fields moved");
static_assert(offsetof(vt_fork_event, child_pid) == 24, "vt_fork_event fields moved");
static_assert(offsetof(vt_exit_event, exit_code) == 24, "vt_exit_event fields moved");
