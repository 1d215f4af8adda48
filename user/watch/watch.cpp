#include "watch/watch.h"

#include <signal.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cerrno>
#include <cstring>
#include <memory>
#include <optional>
#include <vector>

#include "bpf/features.h"
#include "bpf/libbpf_log.h"
#include "watch/cgroup_names.h"
#include "watch/event_log.h"
#include "vmatrace/watch_events.h"
#include "watch/fault_ledger.h"
#include "watch/labels.h"
#include "watch/latency_metrics.h"
#include "watch/metrics.h"
#include "watch/proc_scan.h"
#include "watch/series_table.h"
#include "watch/watch_probe.h"

namespace vmatrace {
namespace {

volatile sig_atomic_t g_stop = 0, g_reopen = 0;

void on_stop(int) { g_stop = 1; }
void on_hup(int) { g_reopen = 1; }

void install_signal_handlers() {
  struct sigaction sa{};
  sigemptyset(&sa.sa_mask);
  sa.sa_handler = on_stop;  // no SA_RESTART: a signal cuts the loop's sleep short
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
  sa.sa_handler = on_hup;
  sigaction(SIGHUP, &sa, nullptr);
  signal(SIGPIPE, SIG_IGN);
}

uint64_t mono_ns() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1000000000ULL + static_cast<uint64_t>(ts.tv_nsec);
}

int fail(const std::string& msg) {
  fprintf(stderr, "vmatrace: %s\n", msg.c_str());
  return 1;
}

// Series idle this many intervals may give their place to a busier pair.
constexpr uint64_t kIdleIntervals = 300;
// How often the ring buffer of exit records is read between polls.
constexpr uint64_t kDrainNs = 100 * 1000000ULL;

class Watch {
 public:
  Watch(const WatchOptions& o, std::unique_ptr<WatchMetrics> metrics, EventLog log,
        std::unique_ptr<Captures> captures)
      : opts_(o),
        interval_ns_(static_cast<uint64_t>(o.interval_s * 1e9)),
        metrics_(std::move(metrics)),
        log_(std::move(log)),
        captures_(std::move(captures)),
        series_(o.top_k, kIdleIntervals),
        ledger_(boot_ticks_now(), interval_ns_, storm_rule(o),
                {[](pid_t pid) { return proc_cgroup_path(pid); },
                 [this](uint64_t id) { return cgroups_.path_of(id, mono_ns()); }},
                arming(o) ? o.capture.warn_fraction : 0) {
    // Below the warning level this long (and two polls at least): disarmed.
    if (arming(o))
      armed_.emplace(o.capture.max_armed,
                     std::max(static_cast<uint64_t>(o.capture.before_s * 1e9), 2 * interval_ns_));
  }

  Status start_probe(const Features& f) {
    auto p = WatchProbe::start(f, opts_.latency, [this](const vt_exit_record& r) { on_exit(r); });
    if (!p) return make_error(p.error());
    probe_ = std::move(*p);
    if (opts_.latency) {
      auto c = LatencyCollector::open(probe_->latency_map_fd());
      if (!c) return make_error(std::string("cannot keep the latency map: ") + strerror(errno));
      metrics_->serve_too(std::move(c));
    }
    return Ok{};
  }
  int run();

 private:
  static bool arming(const WatchOptions& o) { return !o.capture.dir.empty() && o.capture.before_s > 0; }
  static AnalysisOptions storm_rule(const WatchOptions& o) {
    AnalysisOptions a;
    a.storm_threshold = o.storm_threshold;
    return a;
  }
  void on_exit(const vt_exit_record& r);
  void poll_processes();
  void charge(const std::vector<FaultShare>& shares);
  void on_storm(const StormStart& s);
  void log_capture_start(const StormStart& s, CaptureStart r, const std::string& file, double before_s);
  void arm_and_disarm();
  void tend_captures();
  void log_captures_done(const std::vector<CaptureDone>& done);
  void update_health();

  const WatchOptions& opts_;
  uint64_t interval_ns_;
  std::unique_ptr<WatchMetrics> metrics_;
  EventLog log_;
  std::unique_ptr<Captures> captures_;
  std::optional<ArmedSet> armed_;  // with --capture-before
  CgroupNames cgroups_;
  SeriesTable series_;
  FaultLedger ledger_;
  std::unique_ptr<WatchProbe> probe_;
  std::vector<ProcSample> samples_;
  std::vector<FaultShare> shares_;
  std::vector<StormStart> storms_;
  std::vector<WarmProcess> warm_;
  bool disk_full_logged_ = false;
};

void Watch::on_exit(const vt_exit_record& r) {
  ExitInfo e;
  e.pid = static_cast<pid_t>(r.tgid);
  e.start_ticks = ns_to_ticks(r.start_boottime);
  e.comm.assign(r.comm, strnlen(r.comm, sizeof(r.comm)));
  e.cgroup_id = r.cgroup_id;
  e.min_flt = r.min_flt;
  e.maj_flt = r.maj_flt;
  shares_.clear();
  ledger_.exited(e, &shares_);
  charge(shares_);
}

void Watch::charge(const std::vector<FaultShare>& shares) {
  for (const auto& s : shares) series_.add({printable(s.comm), printable(s.cgroup)}, s.minor, s.major);
}

void Watch::poll_processes() {
  // Exit records first: a process gone from /proc has its record by now, or
  // within the next poll (it is sent after the RCU grace period of its reap).
  if (auto st = probe_->drain(); !st) log_.write("error", {{"error", st.error()}});
  scan_processes(&samples_);
  shares_.clear();
  storms_.clear();
  warm_.clear();
  ledger_.poll(samples_, mono_ns(), &shares_, &storms_, armed_ ? &warm_ : nullptr);
  charge(shares_);
  std::vector<SeriesIncrement> increments;
  std::vector<SeriesKey> removed;
  series_.end_interval(&increments, &removed);
  for (const auto& k : removed) metrics_->remove_series(k);
  for (const auto& inc : increments) metrics_->add_faults(inc.key, inc.minor, inc.major);
  // Storms first: a storming process's armed recorder is fired, not disarmed.
  for (const auto& s : storms_) on_storm(s);
  if (armed_) arm_and_disarm();
  update_health();
}

void Watch::on_storm(const StormStart& s) {
  SeriesKey key{printable(s.comm), printable(s.cgroup)};
  metrics_->add_storm(series_.shown_as(key));
  log_.write("storm", {{"pid", s.pid}, {"comm", s.comm}, {"cgroup", s.cgroup}, {"rate", s.rate}});
  if (!captures_ || s.pid == getpid() || captures_->is_capture(s.pid)) return;
  std::string file;
  double before_s = 0;
  const ProcKey target{s.pid, s.start_ticks};
  // Armed: its flight recorder becomes the capture. Not armed (the storm
  // came with no warning, or no --capture-before): a capture starts now.
  CaptureStart r = armed_ && armed_->contains(target)
                       ? captures_->fire(target, mono_ns(), &file, &before_s)
                       : captures_->start(s.pid, s.start_ticks, s.comm, mono_ns(), &file);
  if (r == CaptureStart::Started && armed_) armed_->remove(target);
  log_capture_start(s, r, file, before_s);
}

void Watch::log_capture_start(const StormStart& s, CaptureStart r, const std::string& file, double before_s) {
  if (r == CaptureStart::NotSelected) return;
  if (r == CaptureStart::Started) {
    metrics_->add_capture();
    disk_full_logged_ = false;
    log_.write("capture", {{"pid", s.pid}, {"comm", s.comm}, {"file", file}, {"before_s", before_s}});
    return;
  }
  if (r == CaptureStart::Failed) {
    metrics_->add_capture_failed();
    log_.write("error", {{"pid", s.pid}, {"error", "cannot start a capture: fork failed"}});
    return;
  }
  metrics_->add_capture_skipped(capture_start_name(r));
  if (r == CaptureStart::DiskFull && !disk_full_logged_) {
    disk_full_logged_ = true;
    log_.write("error", {{"error", "captures stopped: " + opts_.capture.dir + " has too little space"}});
  }
}

void Watch::arm_and_disarm() {
  const uint64_t now = mono_ns();
  auto plan = armed_->poll(warm_, now, [&](const WarmProcess& w) { return captures_->may_arm(w, now); });
  for (const auto& [key, reason] : plan.disarm) {
    captures_->disarm(key);
    log_.write("disarmed", {{"pid", key.pid}, {"reason", reason}});
  }
  for (const WarmProcess& w : plan.arm) {
    if (captures_->arm(w) == CaptureStart::Started)
      armed_->add({w.pid, w.start_ticks}, w.rate, now);
    else
      log_.write("error", {{"pid", w.pid}, {"error", "cannot start a flight recorder: fork failed"}});
  }
  metrics_->set_armed(armed_->size());
}

// Every turn of the loop: armed recorders that began recording, signals due, captures ended.
void Watch::tend_captures() {
  for (const ArmedNow& a : captures_->tick(mono_ns()))
    log_.write("armed", {{"pid", a.target.pid}, {"comm", a.comm}, {"rate", a.rate}});
  log_captures_done(captures_->reap());
}

void Watch::log_captures_done(const std::vector<CaptureDone>& done) {
  for (const auto& d : done) {
    if (!d.captured) {
      // An armed recorder ended unfired: it wrote nothing.
      // One told to stop while still loading dies of the SIGTERM: no failure.
      if (armed_) armed_->remove(d.target);
      if (d.disarmed) continue;
      if (d.status != 0 && !g_stop)
        log_.write("error", {{"pid", d.target.pid}, {"status", d.status},
                             {"error", "the flight recorder failed (its error is on stderr)"}});
      else
        log_.write("disarmed", {{"pid", d.target.pid}, {"reason", g_stop ? "stopped" : "ended"}});
      continue;
    }
    // A recorder fired before it recorded, then stopped: no trace at all.
    const bool missing = d.status == 0 && access(d.file.c_str(), F_OK) != 0;
    if (d.status != 0 || missing) metrics_->add_capture_failed();
    nlohmann::json f = {{"pid", d.target.pid}, {"file", d.file}, {"status", d.status}};
    if (d.status != 0) f["error"] = "the capture failed (its error is on stderr); its trace may be cut short";
    if (missing) f["error"] = "the capture ended before it recorded anything: no trace";
    log_.write(d.status == 0 && !missing ? "capture_done" : "error", f);
  }
  if (armed_ && !done.empty()) metrics_->set_armed(armed_->size());
}

void Watch::update_health() {
  metrics_->set_lost("ringbuf", probe_->lost());
  metrics_->set_lost("exit_missed", ledger_.exits_missed());
  metrics_->set_processes(ledger_.tracked());
  metrics_->update_self();
}

int Watch::run() {
  log_.write("started", {{"listen", opts_.listen}, {"port", metrics_->port()}});
  uint64_t next_poll = mono_ns();
  while (!g_stop) {
    uint64_t now = mono_ns();
    if (g_reopen) {
      g_reopen = 0;
      if (auto st = log_.reopen(); !st)
        log_.write("error", {{"error", st.error()}});
      else
        log_.write("reopened", {});
    }
    if (now >= next_poll) {
      poll_processes();
      next_poll += interval_ns_;
      if (next_poll <= now) next_poll = now + interval_ns_;  // fell behind: skip, never burst
    } else if (auto st = probe_->drain(); !st) {
      log_.write("error", {{"error", st.error()}});
    }
    if (captures_) tend_captures();
    uint64_t wait = std::min(kDrainNs, next_poll - std::min(next_poll, mono_ns()));
    timespec ts = {static_cast<time_t>(wait / 1000000000ULL), static_cast<long>(wait % 1000000000ULL)};
    nanosleep(&ts, nullptr);
  }
  if (captures_) log_captures_done(captures_->stop_all(30));
  log_.write("stopped", {});
  return 0;
}

}  // namespace

int run_watch(const WatchOptions& opts) {
  install_signal_handlers();
  if (opts.verbose) install_libbpf_logger(true);
  Features f = probe_features();
  if (!f.is_root) return fail("watch needs root (it loads a BPF program and reads every process)");
  if (!f.btf) return fail("this kernel has no BTF (/sys/kernel/btf/vmlinux): the watch's BPF program needs it");
  if (!f.ringbuf) return fail("this kernel has no BPF ring buffer (5.8+)");
  if (std::string why = latency_unsupported(f); opts.latency && !why.empty()) return fail(why);
  auto log = EventLog::open(opts.events);
  if (!log) return fail(log.error());
  std::unique_ptr<Captures> captures;
  if (!opts.capture.dir.empty()) {
    auto dir = CaptureDir::open(opts.capture.dir, opts.capture.max_files, opts.capture.max_bytes);
    if (!dir) return fail(dir.error());
    captures = std::make_unique<Captures>(opts.capture, std::move(*dir));
  }
  auto metrics = WatchMetrics::serve(opts.listen);
  if (!metrics) return fail(metrics.error());
  Watch w(opts, std::move(*metrics), std::move(*log), std::move(captures));
  if (auto st = w.start_probe(f); !st) return fail(st.error());
  return w.run();
}

}  // namespace vmatrace
