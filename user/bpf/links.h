// RAII for the libbpf objects that both BPF objects (the tracer's and the
// watch's) hold, and the one attachment they share: a program on every
// CPU's page-fault software events.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <sys/types.h>
#include <vector>

#include "util/result.h"

struct bpf_link;
struct bpf_program;
struct ring_buffer;

namespace vmatrace {

struct BpfLinkDeleter {
  void operator()(bpf_link* l) const;
};
struct RingBufferDeleter {
  void operator()(ring_buffer* r) const;
};
using BpfLinkPtr = std::unique_ptr<bpf_link, BpfLinkDeleter>;
using RingBufferPtr = std::unique_ptr<ring_buffer, RingBufferDeleter>;

// Detaches them all at once. A link to a tracepoint waits out an RCU grace
// period as it goes (60-80 ms each on 6.18's faultable syscall tracepoints):
// one after the other, 50 links kept every exit waiting 3 s.
void destroy_links(std::vector<BpfLinkPtr>* links);

// "what: strerror(err)", pointing at -v when libbpf logged why.
Error libbpf_error(const std::string& what, int err);

// on_min and on_maj on the page-faults-min and -maj events of every online
// CPU, for every process: the kernel sends them once a fault is accounted
// (min_flt/maj_flt), with its address. keep takes each link, which owns its
// perf event fd.
Status attach_fault_perf_events(bpf_program* on_min, bpf_program* on_maj,
                                const std::function<void(bpf_link*)>& keep);

// The same on one task's page-fault events, inherited by the threads and
// processes it makes from then on: other processes' faults never run them.
// A task that is gone is not an error (its exit is on its way).
Status attach_task_fault_perf_events(bpf_program* on_min, bpf_program* on_maj, pid_t tid,
                                     const std::function<void(bpf_link*)>& keep);

}  // namespace vmatrace
