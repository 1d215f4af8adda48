#include "watch/watch_probe.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include <cerrno>
#include <cstring>
#include <string>

#include "vmatrace/watch_events.h"
#include "watch.skel.h"

namespace vmatrace {
namespace {

int on_record(void* ctx, void* data, size_t size) {
  // A shorter record would come from a mismatched object: skip, never misread.
  if (size >= sizeof(vt_exit_record))
    (*static_cast<WatchProbe::Handler*>(ctx))(*static_cast<const vt_exit_record*>(data));
  return 0;
}

}  // namespace

std::string latency_unsupported(const Features& f) {
  if (!f.fault_tracepoints) return "--latency needs the exceptions:page_fault_user tracepoint in BTF (x86)";
  if (!f.perf_fault_events) return "--latency needs the page-fault perf events (perf_event_open refused)";
  return "";
}

void WatchProbe::SkelDeleter::operator()(watch_bpf* s) const { watch_bpf__destroy(s); }

WatchProbe::~WatchProbe() {
  // Detach before the maps and the programs go away.
  destroy_links(&links_);
  ring_.reset();
  skel_.reset();
}

Result<std::unique_ptr<WatchProbe>> WatchProbe::start(const Features& features, bool latency, Handler handler) {
  std::unique_ptr<WatchProbe> p(new WatchProbe());
  p->handler_ = std::move(handler);
  p->latency_ = latency;
  watch_bpf* skel = watch_bpf__open();
  if (!skel) return libbpf_error("cannot open the watch's BPF object", errno);
  p->skel_.reset(skel);
  // Without --latency the fault programs are not even loaded: the watch costs faults nothing.
  for (bpf_program* prog : {skel->progs.watch_pf_user, skel->progs.watch_pf_kernel,
                            skel->progs.watch_fault_min, skel->progs.watch_fault_maj})
    bpf_program__set_autoload(prog, latency);
  skel->rodata->use_task_storage = features.task_storage;
  if (int err = watch_bpf__load(skel)) return libbpf_error("the kernel refused the watch's BPF programs", err);
  bpf_link* link = bpf_program__attach(skel->progs.on_process_free);
  if (!link) return libbpf_error("cannot attach to sched_process_free", errno);
  p->links_.emplace_back(link);
  if (latency)
    if (auto st = p->attach_latency(); !st) return make_error(st.error());
  ring_buffer* rb = ring_buffer__new(bpf_map__fd(skel->maps.exits), on_record, &p->handler_, nullptr);
  if (!rb) return libbpf_error("cannot open the BPF ring buffer", errno);
  p->ring_.reset(rb);
  return p;
}

Status WatchProbe::attach_latency() {
  for (bpf_program* prog : {skel_->progs.watch_pf_user, skel_->progs.watch_pf_kernel}) {
    bpf_link* link = bpf_program__attach(prog);
    if (!link) return libbpf_error(std::string("cannot attach ") + bpf_program__name(prog), errno);
    links_.emplace_back(link);
  }
  return attach_fault_perf_events(skel_->progs.watch_fault_min, skel_->progs.watch_fault_maj,
                                  [this](bpf_link* l) { links_.emplace_back(l); });
}

Status WatchProbe::drain() {
  int n = ring_buffer__consume(ring_.get());
  if (n < 0 && n != -EINTR) return make_error(std::string("reading the ring buffer: ") + strerror(-n));
  return Ok{};
}

uint64_t WatchProbe::lost() const {
  int ncpus = libbpf_num_possible_cpus();
  std::vector<__u64> values(static_cast<size_t>(ncpus > 0 ? ncpus : 1));
  __u32 key = VT_WATCH_LOST_RINGBUF;
  uint64_t total = 0;
  if (bpf_map__lookup_elem(skel_->maps.lost, &key, sizeof(key), values.data(), values.size() * sizeof(__u64), 0) == 0)
    for (auto v : values) total += v;
  return total;
}

int WatchProbe::latency_map_fd() const { return latency_ ? bpf_map__fd(skel_->maps.latency) : -1; }

}  // namespace vmatrace
