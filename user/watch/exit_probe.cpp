#include "watch/exit_probe.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include <cerrno>
#include <cstring>
#include <string>
#include <vector>

#include "bpf/libbpf_log.h"
#include "watch.skel.h"
#include "watch/exit_record.h"

namespace vmatrace {
namespace {

Error libbpf_error(const std::string& what, int err) {
  std::string msg = what + ": " + strerror(err < 0 ? -err : err);
  if (!recent_libbpf_warnings().empty()) msg += " (run with -v for libbpf's log)";
  return make_error(msg);
}

int on_record(void* ctx, void* data, size_t size) {
  // A shorter record would come from a mismatched object: skip, never misread.
  if (size >= sizeof(vt_exit_record))
    (*static_cast<ExitProbe::Handler*>(ctx))(*static_cast<const vt_exit_record*>(data));
  return 0;
}

}  // namespace

void ExitProbe::SkelDeleter::operator()(watch_bpf* s) const { watch_bpf__destroy(s); }
void ExitProbe::LinkDeleter::operator()(bpf_link* l) const { bpf_link__destroy(l); }
void ExitProbe::RingDeleter::operator()(ring_buffer* r) const { ring_buffer__free(r); }

ExitProbe::~ExitProbe() {
  // Detach before the maps and the program go away.
  link_.reset();
  ring_.reset();
  skel_.reset();
}

Result<std::unique_ptr<ExitProbe>> ExitProbe::start(Handler handler) {
  std::unique_ptr<ExitProbe> p(new ExitProbe());
  p->handler_ = std::move(handler);
  watch_bpf* skel = watch_bpf__open_and_load();
  if (!skel) return libbpf_error("the kernel refused the watch's BPF program", errno);
  p->skel_.reset(skel);
  bpf_link* link = bpf_program__attach(skel->progs.on_process_free);
  if (!link) return libbpf_error("cannot attach to sched_process_free", errno);
  p->link_.reset(link);
  ring_buffer* rb = ring_buffer__new(bpf_map__fd(skel->maps.exits), on_record, &p->handler_, nullptr);
  if (!rb) return libbpf_error("cannot open the BPF ring buffer", errno);
  p->ring_.reset(rb);
  return p;
}

Status ExitProbe::drain() {
  int n = ring_buffer__consume(ring_.get());
  if (n < 0 && n != -EINTR) return make_error(std::string("reading the ring buffer: ") + strerror(-n));
  return Ok{};
}

uint64_t ExitProbe::lost() const {
  int ncpus = libbpf_num_possible_cpus();
  std::vector<__u64> values(static_cast<size_t>(ncpus > 0 ? ncpus : 1));
  __u32 key = VT_WATCH_LOST_RINGBUF;
  uint64_t total = 0;
  if (bpf_map__lookup_elem(skel_->maps.lost, &key, sizeof(key), values.data(), values.size() * sizeof(__u64), 0) == 0)
    for (auto v : values) total += v;
  return total;
}

}  // namespace vmatrace
