// Loads, configures and attaches the BPF programs and owns every libbpf
// object they need. Destroying the session detaches everything: nothing stays
// attached after vmatrace exits.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "bpf/features.h"
#include "bpf/links.h"
#include "events/event.h"
#include "util/result.h"

struct vmatrace_bpf;
struct bpf_link;
struct bpf_program;
struct ring_buffer;

namespace vmatrace {

class Tracefs;

struct SessionOptions {
  bool follow_children = false;
  uint32_t stack_every = 0;  // a user stack every Nth fault (0: none)
  size_t ringbuf_bytes = 64u << 20;  // power of two
  // Page-fault events on the targets' tasks (inherited by their threads and
  // children), not on every CPU: other processes' faults then pay nothing
  // for them. Needs targets; `check`, which has none, keeps per-CPU events.
  bool fault_events_per_task = false;
  // The address-space syscalls caught where they take the mmap_lock for
  // writing, ended by a task work (needs Features::mmap_lock_hook): no other
  // process's syscalls pay anything, each traced call pays the task work.
  bool syscalls_at_mmap_lock = false;
};

// An optional feature turned off because this kernel's verifier refused the
// program that used it: tracing goes on without it.
struct Degradation {
  std::string feature;
  std::string program;
  std::string verifier_error;
};

// What BpfSession does to a vmatrace_bpf object, callable alone (the
// benchmarks load vmatrace's fault programs without a session):
// Before load: the ring buffer's size, and the marks the programs wake the
// consumer and shed faults at.
Status size_ring_buffer(vmatrace_bpf* skel, size_t bytes);
// After load: tgid in the targets hash (and its slot) with a VT_TARGET_* state.
Status mark_target(vmatrace_bpf* skel, pid_t tgid, uint32_t state);
// What the programs could not record, summed over the CPUs.
LostCounts read_lost_counts(const vmatrace_bpf* skel);

class BpfSession {
 public:
  // Called for every raw ring-buffer record, in ring order.
  using RecordHandler = std::function<void(const void* data, size_t size)>;

  static Result<std::unique_ptr<BpfSession>> start(const Features& features,
                                                   const SessionOptions& opts,
                                                   RecordHandler handler);
  ~BpfSession();
  BpfSession(const BpfSession&) = delete;
  BpfSession& operator=(const BpfSession&) = delete;

  // A running process, traced from now on.
  Status add_target(pid_t tgid);
  // A process about to exec: traced from its exec on, not before.
  Status add_target_at_exec(pid_t tgid);
  // Asks the kernel side for a snapshot of every VMA of tgid, in order with
  // its events; false where this kernel cannot (no VMA iterator).
  bool request_seed(pid_t tgid);
  // Whether request_seed() can work here.
  bool can_seed() const { return features_.vma_iter && features_.task_from_pid; }
  // Waits up to timeout_ms for a wakeup, then consumes whatever is there:
  // the BPF side wakes us only once a batch has piled up. At most a ring
  // buffer's worth of bytes per call, so that a producer faster than us
  // never keeps the caller from its stop signal, flushes and views.
  Result<int> poll(int timeout_ms);
  // The last poll emptied the ring (it did not stop at its budget).
  bool drained() const { return poll_consumed_ < poll_budget_; }
  LostCounts lost() const;
  // What the loaded programs use: the probed features less those refused.
  const Features& features() const { return features_; }
  const std::vector<Degradation>& degradations() const { return degradations_; }
  // Where the address-space syscalls come in (TraceMeta::syscall_hook).
  const std::string& syscall_hook() const { return syscall_hook_; }
  // The frames of a sampled stack, innermost first (empty if gone).
  std::vector<uint64_t> stack(int32_t id) const;

 private:
  BpfSession() = default;
  Status load(const SessionOptions& opts);
  Status load_once(const SessionOptions& opts);
  Status install_exit_handler();
  Status attach_programs();
  bpf_link* attach_syscall_tracepoint(bpf_program* p);
  Status attach_perf_fault_events();
  Status attach_task_fault_events(pid_t tgid);
  static int on_sample(void* self, void* data, size_t size);

  struct SkelDeleter {
    void operator()(vmatrace_bpf* s) const;
  };

  std::unique_ptr<vmatrace_bpf, SkelDeleter> skel_;
  std::vector<BpfLinkPtr> links_;
  RingBufferPtr ring_;
  std::unique_ptr<Tracefs> tracefs_;  // while loading and attaching
  RecordHandler handler_;
  bool fault_events_per_task_ = false;
  std::string syscall_hook_;
  size_t poll_budget_ = 0;   // bytes a poll may consume
  size_t poll_consumed_ = 0;  // by the poll under way
  Features features_;
  std::vector<Degradation> degradations_;
};

}  // namespace vmatrace
