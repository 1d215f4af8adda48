#include "record/recorder.h"

#include <signal.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>
#include <optional>
#include <map>
#include <unordered_set>

#include "bpf/features.h"
#include "bpf/session.h"
#include "events/abi.h"
#include "live/live_view.h"
#include "model/maps_format.h"
#include "model/model.h"
#include "record/target.h"
#include "record/file_start.h"
#include "record/trace_file.h"
#include "record/trace_output.h"
#include "report/event_printer.h"
#include "report/format.h"
#include "report/summary.h"
#include "report/vma_report.h"
#include "util/escape.h"

namespace vmatrace {
namespace {

volatile sig_atomic_t g_stop = 0;
volatile sig_atomic_t g_dump = 0;  // SIGUSR1: a flight-recorder dump, recording goes on

void on_stop_signal(int) { g_stop = 1; }
void on_dump_signal(int) { g_dump = 1; }

void install_dump_handler() {
  struct sigaction sa{};
  sa.sa_handler = on_dump_signal;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGUSR1, &sa, nullptr);
}

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

int fail(const std::string& msg) {
  fprintf(stderr, "vmatrace: %s\n", msg.c_str());
  return 1;
}

// Everything one recording needs, torn down in reverse order on every path.
class Recording {
 public:
  explicit Recording(const RecordOptions& opts) : opts_(opts) {}
  int run();

 private:
  Status setup();
  void on_record(const void* data, size_t size);
  void handle(const Event& e);
  enum class Resync { None, Now, AtPoll };
  Resync resync_need(const Event& e) const;
  void resync(uint32_t pid, uint32_t tid);
  void resync_due();
  void write_due_stacks();
  void persist_lost(uint64_t now);
  Status drain_until_stopped();
  Status poll_output(uint64_t now);
  int finish(Status st);
  TraceMeta make_meta() const;

  const RecordOptions& opts_;
  Features features_;
  std::unique_ptr<TraceOutput> writer_;
  std::unique_ptr<EventPrinter> printer_;
  std::unique_ptr<BpfSession> session_;
  std::optional<GatedChild> child_;
  pid_t target_ = 0;
  std::string maps_at_attach_;
  TraceMeta meta_;  // as written to the trace header, once tracing started
  uint64_t t0_ = 0, realtime0_ = 0;
  Summary summary_;
  std::unique_ptr<Model> model_;  // the live VMA model
  std::unique_ptr<LiveStats> live_;
  std::unique_ptr<Display> display_;
  std::string command_;
  std::unordered_set<int32_t> stacks_written_;
  std::vector<int32_t> stacks_due_;
  std::map<uint32_t, uint32_t> resync_due_;  // pid -> the thread whose change asked for it
  uint64_t malformed_ = 0;
  uint64_t lost_persisted_ = 0;  // the loss total the file already holds
  bool target_exited_ = false;
  Status write_status_ = Ok{};
};

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

void Recording::on_record(const void* data, size_t size) {
  malformed_ += for_each_record(data, size, [this](Event& e) {
    fill_names_from_proc(&e);
    handle(e);
    switch (resync_need(e)) {
      case Resync::Now:  // the faults that follow need the new image's VMAs
        resync(e.pid, e.tid);
        break;
      case Resync::AtPoll:
        resync_due_[e.pid] = e.tid;
        break;
      case Resync::None:
        break;
    }
  });
}

void Recording::handle(const Event& e) {
  if (e.kind == Kind::Fault && e.stack_id >= 0 && stacks_written_.insert(e.stack_id).second)
    stacks_due_.push_back(e.stack_id);
  // The trace first: a file or flight chunk that starts here takes the
  // model's VMA set from before e (record/trace_output.h).
  if (writer_ && write_status_) write_status_ = writer_->append(e);
  summary_.add(e);
  if (model_) model_->apply(e);
  if (live_) live_->on_event(e, *model_);
  if (e.kind == Kind::Exit && (e.exit_flags & VT_EXIT_GROUP_DEAD) && e.pid == static_cast<uint32_t>(target_))
    target_exited_ = true;
  if (printer_) printer_->print(e);
}

// Stacks live in a BPF map; the trace gets each one the first time a fault
// names it, read while the map still holds it (a stack id is never reused:
// a colliding stack fails with -EEXIST instead).
void Recording::write_due_stacks() {
  for (int32_t id : stacks_due_) {
    Event s;
    s.kind = Kind::Stack;
    s.ts = clock_ns(CLOCK_MONOTONIC);
    s.stack_id = id;
    s.stack = session_->stack(id);
    handle(s);
  }
  stacks_due_.clear();
}

// Where the kernel gives no snapshot of a change, or one failed, /proc says
// what the VMAs are now. After exec it is how such kernels seed the new mm.
// Where the kernel gives no snapshot of a change, /proc/PID/maps says what it did.
Recording::Resync Recording::resync_need(const Event& e) const {
  bool kernel_snapshots = features_.vma_iter;
  switch (e.kind) {
    case Kind::Exec:
      return kernel_snapshots ? Resync::None : Resync::Now;
    case Kind::Syscall:
      return !kernel_snapshots && opts_.resync ? Resync::AtPoll : Resync::None;
    case Kind::Snapshot:
      return e.status != 0 && opts_.resync ? Resync::Now : Resync::None;
    default:
      return Resync::None;
  }
}

// One /proc read per changed process per poll, not per change: a target that
// maps thousands of times a second must not cost thousands of full re-reads.
// The model is exact again at every poll boundary.
void Recording::resync_due() {
  auto due = std::move(resync_due_);
  resync_due_.clear();
  for (const auto& [pid, tid] : due) resync(pid, tid);
}

void Recording::resync(uint32_t pid, uint32_t tid) {
  auto maps = read_proc_maps(static_cast<pid_t>(pid));
  if (!maps) return;  // gone: its exit is on its way
  uint64_t now = clock_ns(CLOCK_MONOTONIC);
  Event v;
  v.kind = Kind::Vma;
  v.ts = now;
  v.pid = pid;
  v.tid = tid;
  uint32_t count = 0;
  for (auto& line : parse_maps(*maps)) {
    if (line.name == "[vsyscall]") continue;
    v.vma = std::move(line.vma);
    v.vma.reason = VT_VMA_SNAPSHOT;
    handle(v);
    count++;
  }
  Event s;
  s.kind = Kind::Snapshot;
  s.ts = now;
  s.pid = pid;
  s.tid = tid;
  s.mm = model_ ? model_->mm_of(pid) : 0;
  s.lo = 0;
  s.hi = ~0ULL;
  s.count = count;
  s.snap_reason = kSnapResync;
  handle(s);
}

TraceMeta Recording::make_meta() const {
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
  m.page_size = static_cast<uint32_t>(sysconf(_SC_PAGESIZE));
  return m;
}

Status Recording::setup() {
  features_ = probe_features();
  for (const auto& name : opts_.without)
    if (!disable_feature(&features_, name)) return make_error("unknown feature for --without: " + name);
  if (auto why = missing_requirement(features_); !why.empty()) return make_error(why);
  if (opts_.pid > 0) {
    auto process = process_of(opts_.pid);
    if (!process) return make_error(process.error());
    target_ = *process;
    if (target_ != opts_.pid)
      fprintf(stderr, "vmatrace: %d is a thread of process %d: tracing the process\n", opts_.pid, target_);
    // Only what ptrace may read (the kernel's check on /proc/PID/maps), and
    // refused before anything is attached.
    if (auto maps = read_proc_maps(target_); !maps) return make_error(maps.error());
  }
  if (!opts_.output.empty()) {
    TraceOutputOptions o;
    o.path = opts_.output;
    o.max_size = opts_.max_size;
    o.rotate = opts_.rotate;
    o.flight_ns = static_cast<uint64_t>(opts_.flight_s * 1e9);
    o.trigger_storm = opts_.trigger_storm;
    o.after_ns = static_cast<uint64_t>(opts_.after_s * 1e9);
    auto w = TraceOutput::create(o, [this](uint64_t ts) { return file_start(meta_, *model_, ts); });
    if (!w) return make_error(w.error());
    if (o.flight_ns) install_dump_handler();
    writer_ = std::move(*w);
  }
  SessionOptions so;
  so.follow_children = opts_.follow_children;
  so.ringbuf_bytes = opts_.ringbuf_mb << 20;
  so.stack_every = opts_.stack_every;
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
  if (opts_.live == LiveOutput::Events) printer_ = std::make_unique<EventPrinter>(stdout, opts_.json, t0_);
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
  const TraceMeta& meta = meta_;
  model_ = std::make_unique<Model>(meta);
  live_ = std::make_unique<LiveStats>(t0_);
  for (const auto& a : meta.command) command_ += (command_.empty() ? "" : " ") + escape_text(a);
  if (opts_.live == LiveOutput::Screen) display_ = make_terminal_view();
  if (opts_.live == LiveOutput::Plain) display_ = make_plain_view(stdout, opts_.interval_s);
  if (writer_) {
    if (auto st = writer_->begin(meta); !st) return st;
  }
  if (child_) {
    if (auto st = child_->release(); !st) return st;
  }
  if (writer_) return writer_->publish();
  return Ok{};
}

// A trace cut short (SIGKILL, power loss) still says what was lost up to its
// last chunk: the cumulative counters go into the file whenever they grew.
void Recording::persist_lost(uint64_t now) {
  LostCounts lost = session_->lost();
  if (lost.total() == lost_persisted_ || !write_status_) return;
  Event stats;
  stats.kind = Kind::Stats;
  stats.ts = now;
  stats.lost = lost;
  write_status_ = writer_->append(stats);
  lost_persisted_ = lost.total();
}

Status Recording::poll_output(uint64_t now) {
  if (g_dump) {
    g_dump = 0;
    writer_->request_dump();
  }
  return writer_->poll(now, session_->lost());
}

Status Recording::drain_until_stopped() {
  const uint64_t deadline = opts_.duration_s > 0 ? t0_ + static_cast<uint64_t>(opts_.duration_s * 1e9) : 0;
  uint64_t last_flush = clock_ns(CLOCK_MONOTONIC);
  int child_status = 0;
  while (!g_stop) {
    auto n = session_->poll(100);
    if (!n) return make_error(n.error());
    resync_due();
    if (!write_status_) return write_status_;
    if (printer_) fflush(stdout);
    uint64_t now = clock_ns(CLOCK_MONOTONIC);
    if (writer_ && now - last_flush >= 1000000000ULL) {
      write_due_stacks();
      persist_lost(now);
      if (auto st = writer_->flush(now, session_->lost()); !st) return st;
      last_flush = now;
    }
    if (writer_) {
      if (auto st = poll_output(now); !st) return st;
      if (writer_->ended()) {
        fprintf(stderr, "vmatrace: the trace reached --max-size: recording stopped\n");
        break;
      }
    }
    if (display_) {
      live_->advance(now);
      display_->update({now - t0_, static_cast<uint32_t>(target_), command_, live_.get(), model_.get(),
                        session_->lost().total()});
      if (display_->quit_requested()) break;
    }
    if (deadline && now >= deadline) break;
    if (child_ ? child_->try_wait(&child_status) : (target_exited_ || !process_alive(target_))) break;
  }
  // What the kernel produced before we stopped still belongs to the trace.
  for (int i = 0; i < 3; i++) {
    auto n = session_->poll(0);
    if (!n) return make_error(n.error());
    resync_due();
  }
  write_due_stacks();
  return write_status_;
}

int Recording::finish(Status st) {
  LostCounts lost;
  if (session_) lost = session_->lost();
  session_.reset();  // detach before anything else can fail
  display_.reset();  // give the terminal back
  summary_.set_lost(lost);
  if (writer_) {
    if (st) {
      Status fst = writer_->finish(clock_ns(CLOCK_MONOTONIC), lost);
      if (!fst) st = fst;
    }
    // A failure after publish() keeps the file: it reads back to its last chunk.
    if (!st) writer_->discard();
  }
  if (child_ && !st) child_->abort();
  if (!st) return fail(st.error());
  if (printer_) fflush(stdout);
  if (malformed_) fprintf(stderr, "vmatrace: %lu malformed records were dropped\n", (unsigned long)malformed_);
  if (lost.total()) fprintf(stderr, "vmatrace: WARNING: %lu events lost (see report)\n", (unsigned long)lost.total());
  if (opts_.live == LiveOutput::Screen && model_) {
    ReadSummary whole;
    whole.complete = true;
    fputs(summary_.to_text(meta_for_text(meta_), whole, opts_.output.empty() ? "(live)" : opts_.output).c_str(), stdout);
    fputs(top_vmas_text(*model_, 10).c_str(), stdout);
  }
  if (writer_)
    fprintf(stderr, "vmatrace: %lu events (%lu faults) recorded: %s\n", (unsigned long)summary_.total_events(),
            (unsigned long)summary_.faults(), writer_->written().c_str());
  if (!child_) return 0;
  int code = 0;
  if (child_->try_wait(&code)) return code;
  return g_stop ? 0 : child_->wait();
}

int Recording::run() {
  install_stop_handlers();
  Status st = setup();
  if (!st) return finish(st);  // the unpublished file goes with it
  return finish(drain_until_stopped());
}

}  // namespace

int run_record(const RecordOptions& opts) {
  Recording r(opts);
  return r.run();
}

}  // namespace vmatrace
