// The watch's BPF side (bpf/watch.bpf.c): one tp_btf program that reports
// every process that is gone with its final fault totals. Owns every libbpf
// object; destroying it detaches everything.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>

#include "util/result.h"

struct watch_bpf;
struct bpf_link;
struct ring_buffer;
struct vt_exit_record;

namespace vmatrace {

class ExitProbe {
 public:
  using Handler = std::function<void(const vt_exit_record&)>;

  static Result<std::unique_ptr<ExitProbe>> start(Handler handler);
  ~ExitProbe();
  ExitProbe(const ExitProbe&) = delete;
  ExitProbe& operator=(const ExitProbe&) = delete;

  // Hands every record waiting in the ring buffer to the handler; never blocks.
  Status drain();
  // Records the kernel could not hand over (ring buffer full).
  uint64_t lost() const;

 private:
  ExitProbe() = default;

  struct SkelDeleter {
    void operator()(watch_bpf* s) const;
  };
  struct LinkDeleter {
    void operator()(bpf_link* l) const;
  };
  struct RingDeleter {
    void operator()(ring_buffer* r) const;
  };
  std::unique_ptr<watch_bpf, SkelDeleter> skel_;
  std::unique_ptr<bpf_link, LinkDeleter> link_;
  std::unique_ptr<ring_buffer, RingDeleter> ring_;
  Handler handler_;
};

}  // namespace vmatrace
