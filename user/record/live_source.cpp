#include "record/live_source.h"

#include <signal.h>
#include <time.h>
#include <unistd.h>

#include <cstdio>

#include "events/abi.h"
#include "model/maps_format.h"
#include "model/model.h"

namespace vmatrace {
namespace {

volatile sig_atomic_t g_stop = 0;

// A repair that adds a whole address space to the stream (a kernel
// snapshot, a /proc read that changes overlapped): at most one a second.
constexpr uint64_t kRepairEveryNs = 1000000000ULL;

// How long the command may wait at its exec for its exec record (a record
// lost to a full ring buffer never comes): far beyond a poll or two.
constexpr uint64_t kMaxExecHoldNs = 2'000'000'000ULL;

void on_stop_signal(int) { g_stop = 1; }

void install_stop_handlers() {
  struct sigaction sa{};
  sa.sa_handler = on_stop_signal;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
  signal(SIGPIPE, SIG_IGN);
}

uint64_t clock_ns(clockid_t id) {
  timespec ts;
  clock_gettime(id, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1000000000ULL + static_cast<uint64_t>(ts.tv_nsec);
}

// The [vsyscall] line is not in the VMA tree (the gate area): maps prints it
// last for every process when the machine has it.
std::string vsyscall_line() {
  auto maps = read_proc_maps(getpid());
  if (!maps) return "";
  size_t at = maps->find("[vsyscall]");
  if (at == std::string::npos) return "";
  size_t begin = maps->rfind('\n', at);
  begin = begin == std::string::npos ? 0 : begin + 1;
  return maps->substr(begin, at + 10 - begin);
}

// Where BPF could not read a name whole (lockdown=confidentiality, no
// bpf_loop, a path deeper or longer than a record holds), ask /proc while the
// mapping most likely still exists.
void fill_names_from_proc(Event* e) {
  if (e->kind == Kind::Vma && (e->vma.path_flags & (VT_PATH_UNKNOWN | VT_PATH_TRUNCATED))) {
    std::string path = proc_mapped_path(static_cast<pid_t>(e->pid), e->vma.start, e->vma.ino);
    if (path.empty()) return;
    if (strip_deleted(&path)) e->vma.path_flags |= VT_PATH_DELETED;
    e->vma.path = path;
    e->vma.path_flags &= ~(VT_PATH_UNKNOWN | VT_PATH_TRUNCATED);
  } else if (e->kind == Kind::Exec && e->filename.empty()) {
    e->filename = proc_exe(static_cast<pid_t>(e->pid));
  }
}

}  // namespace

Result<std::unique_ptr<LiveSource>> LiveSource::prepare(const LiveSourceOptions& opts) {
  std::unique_ptr<LiveSource> s(new LiveSource(opts));
  s->features_ = probe_features();
  for (const auto& name : opts.without)
    if (!disable_feature(&s->features_, name)) return make_error("unknown feature for --without: " + name);
  if (auto why = missing_requirement(s->features_); !why.empty()) return make_error(why);
  if (opts.pid > 0) {
    auto process = process_of(opts.pid);
    if (!process) return make_error(process.error());
    s->target_ = *process;
    if (s->target_ != opts.pid)
      fprintf(stderr, "vmatrace: %d is a thread of process %d: tracing the process\n", opts.pid, s->target_);
    // Only what ptrace may read (the kernel's check on /proc/PID/maps), and
    // refused before anything is attached.
    if (auto maps = read_proc_maps(s->target_); !maps) return make_error(maps.error());
  }
  return s;
}

Status LiveSource::start() {
  install_stop_handlers();
  SessionOptions so;
  so.follow_children = opts_.follow_children;
  so.ringbuf_bytes = opts_.ringbuf_mb << 20;
  so.stack_every = opts_.stack_every;
  so.fault_events_per_task = true;
  so.syscalls_at_mmap_lock = opts_.mmap_lock_hook;
  auto s = BpfSession::start(features_, so, [this](const void* d, size_t n) { on_record(d, n); });
  if (!s) return make_error(s.error());
  session_ = std::move(*s);
  // What the loaded programs really use: the model and resyncs follow it.
  features_ = session_->features();
  for (const auto& d : session_->degradations()) {
    const OptionalFeature* f = find_optional_feature(d.feature);
    fprintf(stderr, "vmatrace: %s is off: this kernel's verifier refused %s; %s\n", d.feature.c_str(),
            d.program.c_str(), f ? f->loss : "");
  }

  t0_ = clock_ns(CLOCK_MONOTONIC);
  realtime0_ = clock_ns(CLOCK_REALTIME);
  if (!opts_.command.empty()) {
    auto c = GatedChild::spawn(opts_.command);
    if (!c) return make_error(c.error());
    child_.emplace(std::move(*c));
    target_ = child_->pid();
    if (auto st = session_->add_target_at_exec(target_); !st) return st;
  } else {
    // Target first, maps second: a change racing with the read is then in the trace.
    if (auto st = session_->add_target(target_); !st) return st;
    auto maps = read_proc_maps(target_);
    if (!maps && process_alive(target_)) return make_error(maps.error());  // e.g. EACCES
    if (!maps || !process_alive(target_))
      return make_error("process " + std::to_string(target_) + " exited during attach");
    if (maps->empty())
      return make_error("process " + std::to_string(target_) + " is a kernel thread: it has no address space to trace");
    maps_at_attach_ = std::move(*maps);
    // The kernel's own view, in order with the events that follow it.
    session_->request_seed(target_);
  }
  meta_ = make_meta();
  return Ok{};
}

TraceMeta LiveSource::make_meta() const {
  TraceMeta m;
  m.vmatrace_version = VMATRACE_VERSION;
  m.kernel_release = features_.kernel_release;
  char host[256] = {};
  gethostname(host, sizeof(host) - 1);
  m.hostname = host;
  m.clock_monotonic_ns = t0_;
  m.clock_realtime_ns = realtime0_;
  m.target_pid = static_cast<uint32_t>(target_);
  m.command = opts_.command.empty() ? read_proc_cmdline(target_) : opts_.command;
  m.follow_children = opts_.follow_children;
  m.maps_at_attach = maps_at_attach_;
  m.vsyscall_line = vsyscall_line();
  m.kernel_snapshots = features_.vma_iter;
  m.syscall_hook = session_ ? session_->syscall_hook() : "";
  m.page_size = static_cast<uint32_t>(sysconf(_SC_PAGESIZE));
  return m;
}

Status LiveSource::release() {
  // Without kernel snapshots the new image's VMAs come from /proc: the
  // command waits just after its exec until that read (on_record).
  released_ns_ = clock_ns(CLOCK_MONOTONIC);
  if (child_) return child_->release(!features_.vma_iter);
  return Ok{};
}

void LiveSource::on_record(const void* data, size_t size) {
  malformed_ += for_each_record(data, size, [this](Event& e) {
    fill_names_from_proc(&e);
    emit(e);
    switch (resync_need(e)) {
      case Resync::Now:  // the faults that follow need the new image's VMAs
        // Stamped with the exec: the events after it in this batch (the
        // loader's mmaps) come next, in order, over what /proc showed.
        if (auto r = read_proc(e.pid, e.tid)) emit_resync(*r, e.ts, kSnapResync);
        if (child_ && e.pid == static_cast<uint32_t>(child_->pid())) child_->resume();
        break;
      case Resync::AtPoll:
        resync_due_[e.pid] = e.tid;
        break;
      case Resync::None:
        break;
    }
  });
}

// Records up to the end of the oldest read in flight go ahead of its
// snapshot, the rest after it.
void LiveSource::emit(const Event& e) {
  if (reads_.empty()) return deliver(e);
  ProcRead& r = reads_.front();
  // A change whose syscall overlapped the read may or may not be in it.
  if (e.pid == r.pid && e.ts >= r.from_ts && e.kind != Kind::Fault && e.kind != Kind::Stack &&
      e.kind != Kind::Stats && e.began_ns() <= r.to_ts)
    r.clean = false;
  if (e.ts <= r.to_ts) return deliver(e);
  held_.push_back(e);
}

void LiveSource::deliver(const Event& e) {
  if (e.kind == Kind::Fault && e.stack_id >= 0 && stacks_written_.insert(e.stack_id).second)
    stacks_due_.push_back(e.stack_id);
  if (e.kind == Kind::Exit && (e.exit_flags & VT_EXIT_GROUP_DEAD) && e.pid == static_cast<uint32_t>(target_))
    target_exited_ = true;
  sink_->on_event(e);
}

// Stacks live in a BPF map; the trace gets each one the first time a fault
// names it, read while the map still holds it (a stack id is never reused:
// a colliding stack fails with -EEXIST instead).
void LiveSource::write_due_stacks() {
  for (int32_t id : stacks_due_) {
    Event s;
    s.kind = Kind::Stack;
    s.ts = clock_ns(CLOCK_MONOTONIC);
    s.stack_id = id;
    s.stack = session_->stack(id);
    emit(s);
  }
  stacks_due_.clear();
}

// Where the kernel gives no snapshot of a change, or one failed, /proc says
// what the VMAs are now. After exec it is how such kernels seed the new mm.
LiveSource::Resync LiveSource::resync_need(const Event& e) const {
  bool kernel_snapshots = features_.vma_iter;
  switch (e.kind) {
    case Kind::Exec:
      return kernel_snapshots ? Resync::None : Resync::Now;
    case Kind::Syscall:
      return !kernel_snapshots && opts_.resync ? Resync::AtPoll : Resync::None;
    default:
      // Nor a snapshot that failed: it marked the model uncertain, and
      // repair_uncertain() asks for a new one, or a /proc read. A read made
      // now, after the records that follow it in the ring, cannot stand for
      // the failure's moment.
      return Resync::None;
  }
}

// One /proc read per changed process per poll, not per change: a target that
// maps thousands of times a second must not cost thousands of full re-reads.
// The model is exact again at the first poll whose read no change overlapped.
//
// The target runs on while it is read: the ring then still holds records made
// before the read ended, and by syscalls that began before it ended and end
// after it. Those made before it ended go to the sink ahead of the snapshot,
// so that their faults are charged to the mappings they hit, not to the one
// the read shows; the rest are held until it is known whether a change of the
// process overlapped the read (see emit()).
Status LiveSource::resync_due() {
  if (resync_due_.empty()) return Ok{};
  auto due = std::move(resync_due_);
  resync_due_.clear();
  for (const auto& [pid, tid] : due) {
    if (auto r = read_proc(pid, tid))
      reads_.push_back(std::move(*r));
    else
      repairing_.erase(pid);  // gone: its exit is on its way
  }
  Status st = drain_past_reads();
  while (!reads_.empty()) settle_oldest_read();
  return st;
}

// A syscall that began before a read ended, and ends after it, may or may not
// be in it: its record is awaited a few milliseconds, so that such a read is
// left unused rather than trusted. Bounded: a flood that outlasts kMaxHeld
// records leaves the reads unused.
Status LiveSource::drain_past_reads() {
  constexpr uint64_t kReadGraceNs = 3000000;
  constexpr size_t kMaxHeld = 50000;
  if (reads_.empty()) return Ok{};
  const uint64_t until = reads_.back().to_ts + kReadGraceNs;
  for (;;) {
    bool waited = clock_ns(CLOCK_MONOTONIC) >= until;
    auto n = session_->poll(waited ? 0 : 1);
    if (!n) return make_error(n.error());
    if (waited && session_->drained()) return Ok{};
    if (held_.size() > kMaxHeld) {
      for (auto& r : reads_) r.clean = false;
      return Ok{};
    }
  }
}

// A read no change overlapped shows the VMAs of its whole span: its snapshot,
// stamped with its end, goes ahead of the records made after it. Any other is
// read again at the next poll; the model has the changes themselves meanwhile.
void LiveSource::settle_oldest_read() {
  ProcRead r = std::move(reads_.front());
  reads_.pop_front();
  auto during = std::move(held_);
  held_.clear();
  if (r.clean) {
    emit_resync(r, r.to_ts, kSnapResync);
    repairing_.erase(r.pid);
  } else {
    // A model known to have lost events is further from the kernel's set
    // than a read that may miss the changes of its own moments.
    // One a second: each is a whole address space for the model and the
    // trace, and a consumer slowed by them loses more to the ring.
    auto repairing = repairing_.find(r.pid);
    if (repairing != repairing_.end() && r.to_ts - repairing->second >= kRepairEveryNs) {
      emit_resync(r, r.to_ts, kSnapResyncRacy);
      repairing->second = r.to_ts;
    }
    resync_due_.emplace(r.pid, r.tid);
  }
  for (const Event& e : during) emit(e);
}

// At most every 100 ms: a ring that stays full must not flood the stream
// with counters, nor the target with re-reads.
void LiveSource::report_losses(const Tick& t) {
  constexpr uint64_t kReportEveryNs = 100000000;
  if (t.lost.total() == lost_told_.total() || t.now_ns - lost_told_ns_ < kReportEveryNs) return;
  Event s;
  s.kind = Kind::Stats;
  s.ts = t.now_ns;
  s.lost = t.lost;
  emit(s);
  lost_told_ = t.lost;
  lost_told_ns_ = t.now_ns;
}

// Where the kernel can snapshot a whole address space on request, that
// snapshot, in order with the records around it, makes the model exact
// again; elsewhere /proc is read, at the next poll (unless --no-resync).
//
// A kernel snapshot is at most one a second (kRepairEveryNs): into a ring
// still overflowing (a starved machine) a whole address space every 100 ms
// adds to the losses it is meant to repair.
void LiveSource::repair_uncertain(uint64_t now_ns) {
  if (!model_ || !model_->any_uncertain()) return;
  const bool seed_due = now_ns - seeded_ns_ >= kRepairEveryNs;
  for (const auto& p : model_->live_processes()) {
    if (!p.space->uncertain) continue;
    if (session_->can_seed()) {
      if (seed_due && session_->request_seed(static_cast<pid_t>(p.pid))) seeded_ns_ = now_ns;
      continue;
    }
    if (!opts_.resync) continue;
    repairing_.emplace(p.pid, 0);
    resync_due_.emplace(p.pid, p.pid);
  }
}

std::optional<LiveSource::ProcRead> LiveSource::read_proc(uint32_t pid, uint32_t tid) const {
  ProcRead r;
  r.pid = pid;
  r.tid = tid;
  r.from_ts = clock_ns(CLOCK_MONOTONIC);
  auto maps = read_proc_maps(static_cast<pid_t>(pid));
  if (!maps) return std::nullopt;  // gone: its exit is on its way
  r.to_ts = clock_ns(CLOCK_MONOTONIC);
  r.maps = std::move(*maps);
  return r;
}

// The model leaves out the changes older than ts that still come after it
// (they are in what /proc shows).
void LiveSource::emit_resync(const ProcRead& r, uint64_t ts, uint16_t reason) {
  Event v;
  v.kind = Kind::Vma;
  v.ts = ts;
  v.pid = r.pid;
  v.tid = r.tid;
  uint32_t count = 0;
  for (auto& line : parse_maps(r.maps)) {
    if (line.name == "[vsyscall]") continue;
    v.vma = std::move(line.vma);
    v.vma.reason = VT_VMA_SNAPSHOT;
    emit(v);
    count++;
  }
  Event s;
  s.kind = Kind::Snapshot;
  s.ts = ts;
  s.pid = r.pid;
  s.tid = r.tid;
  s.mm = model_ ? model_->mm_of(r.pid) : 0;
  s.lo = 0;
  s.hi = ~0ULL;
  s.count = count;
  s.snap_reason = reason;
  emit(s);
}

LostCounts LiveSource::lost() const { return session_ ? session_->lost() : LostCounts{}; }

Status LiveSource::run(Sink& sink) {
  sink_ = &sink;
  const uint64_t deadline = opts_.duration_s > 0 ? t0_ + static_cast<uint64_t>(opts_.duration_s * 1e9) : 0;
  uint64_t last_flush = clock_ns(CLOCK_MONOTONIC);
  int child_status = 0;
  while (!g_stop) {
    auto n = session_->poll(100);
    if (!n) return make_error(n.error());
    // An exec record lost to a full ring buffer must not keep the command stopped.
    if (child_ && child_->held() && clock_ns(CLOCK_MONOTONIC) - released_ns_ > kMaxExecHoldNs) child_->resume();
    Tick t{clock_ns(CLOCK_MONOTONIC), session_->lost()};
    if (auto st = tick_and_resync(t); !st) return st;
    if (t.now_ns - last_flush >= 1000000000ULL) {
      write_due_stacks();
      if (auto st = sink.flush(t); !st) return st;
      last_flush = t.now_ns;
    }
    if (sink.stop_requested()) break;
    if (deadline && t.now_ns >= deadline) break;
    if (child_ ? child_->try_wait(&child_status) : (target_exited_ || !process_alive(target_))) break;
  }
  return drain_rest();
}

// The losses first, then the repairs and resyncs: a loss the kernel counted
// while making the records just read is then repaired by the resync after
// it, not reported after it as if the model had gone wrong since.
Status LiveSource::tick_and_resync(const Tick& t) {
  report_losses(t);
  repair_uncertain(t.now_ns);
  if (auto st = sink_->tick(t); !st) return st;
  return resync_due();
}

// What the kernel produced before we stopped still belongs to the trace.
Status LiveSource::drain_rest() {
  for (int i = 0; i < 3; i++) {
    auto n = session_->poll(0);
    if (!n) return make_error(n.error());
    if (auto st = tick_and_resync({clock_ns(CLOCK_MONOTONIC), session_->lost()}); !st) return st;
  }
  write_due_stacks();
  return sink_->tick({clock_ns(CLOCK_MONOTONIC), session_->lost()});
}

void LiveSource::abort_command() {
  if (child_) child_->abort();
}

int LiveSource::exit_code() {
  if (!child_) return 0;
  int code = 0;
  if (child_->try_wait(&code)) return code;
  return g_stop ? 0 : child_->wait();
}

}  // namespace vmatrace
