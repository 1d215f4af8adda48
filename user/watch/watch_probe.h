// The watch's BPF side (bpf/watch.bpf.c): a tp_btf program that reports
// every process that is gone with its final fault totals, and with
// --latency the programs that time every fault on the machine. Owns every
// libbpf object; destroying it detaches everything.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <vector>

#include "bpf/features.h"
#include "bpf/links.h"
#include "util/result.h"

struct watch_bpf;
struct vt_exit_record;

namespace vmatrace {

class WatchProbe {
 public:
  using Handler = std::function<void(const vt_exit_record&)>;

  // With latency: also the fault programs, system-wide; why this kernel
  // cannot time faults is an error.
  static Result<std::unique_ptr<WatchProbe>> start(const Features& features, bool latency, Handler handler);
  ~WatchProbe();
  WatchProbe(const WatchProbe&) = delete;
  WatchProbe& operator=(const WatchProbe&) = delete;

  // Hands every record waiting in the ring buffer to the handler; never blocks.
  Status drain();
  // Records the kernel could not hand over (ring buffer full).
  uint64_t lost() const;
  // The latency histograms' map (per CPU, by fault type), -1 without --latency.
  int latency_map_fd() const;

 private:
  WatchProbe() = default;
  Status attach_latency();

  struct SkelDeleter {
    void operator()(watch_bpf* s) const;
  };
  std::unique_ptr<watch_bpf, SkelDeleter> skel_;
  std::vector<BpfLinkPtr> links_;
  RingBufferPtr ring_;
  Handler handler_;
  bool latency_ = false;
};

// Why this kernel cannot time faults for --latency, or "".
std::string latency_unsupported(const Features& f);

}  // namespace vmatrace
