#include "report/summary.h"

#include <algorithm>
#include <cinttypes>
#include <sstream>

#include "events/abi.h"
#include "events/names.h"
#include "report/format.h"

namespace vmatrace {

namespace {

constexpr size_t kFirstNonSyscallSlot = VT_SC_MAX;
static_assert(VT_SC_MAX + static_cast<size_t>(Kind::Stack) < 32, "slots overflow");

// A syscall number no decoder should have let through still gets a slot of
// its own: slot 0, which by_kind() names "?".
size_t kind_slot(const Event& e) {
  if (e.kind == Kind::Syscall) return known_syscall(e.sc) ? e.sc : 0;
  return kFirstNonSyscallSlot + static_cast<size_t>(e.kind);
}

}  // namespace

std::map<std::string, uint64_t> Summary::by_kind() const {
  std::map<std::string, uint64_t> out;
  Event probe;
  for (size_t slot = 0; slot < by_slot_.size(); slot++) {
    if (!by_slot_[slot]) continue;
    if (slot < kFirstNonSyscallSlot) {
      probe.kind = Kind::Syscall;
      probe.sc = static_cast<uint16_t>(slot);
    } else {
      probe.kind = static_cast<Kind>(slot - kFirstNonSyscallSlot);
    }
    out[kind_name(probe)] = by_slot_[slot];
  }
  return out;
}

void Summary::add(const Event& e) {
  if (e.kind == Kind::Stack) return;
  if (e.kind == Kind::Stats) {
    lost_ = e.lost;
    if (e.ts) last_ts_ = std::max(last_ts_, e.ts);
    return;
  }
  if (total_ == 0 || e.ts < first_ts_) first_ts_ = e.ts;
  last_ts_ = std::max(last_ts_, e.ts);
  total_++;
  by_slot_[kind_slot(e)]++;
  if (e.kind != Kind::Fault) return;
  if (e.fault_flags & VT_FAULT_INCOMPLETE) {
    incomplete_++;
    return;
  }
  if (e.fault_flags & VT_FAULT_MAJOR)
    major_++;
  else
    minor_++;
  switch (access_of(e)) {
    case Access::Exec: exec_++; break;
    case Access::Write: write_++; break;
    case Access::Read: read_++; break;
    case Access::Unknown: unknown_access_++; break;
  }
  if (e.fault_flags & VT_FAULT_KERNEL) in_kernel_++;
  if (e.error_code & VT_PF_PROT) protection_++;
  if (!(e.fault_flags & VT_FAULT_NO_ENTRY)) latency_.add(e.latency_ns);
}

LatencyPercentiles Summary::latency() const { return latency_.percentiles(); }

namespace {

uint64_t duration_ns(const TraceMeta& meta, uint64_t first, uint64_t last) {
  uint64_t start = meta.clock_monotonic_ns ? meta.clock_monotonic_ns : first;
  return last > start ? last - start : 0;
}

}  // namespace

nlohmann::ordered_json Summary::to_json(const TraceMeta& meta, const ReadSummary& read) const {
  nlohmann::ordered_json j;
  j["target"] = {{"pid", meta.target_pid}, {"command", meta.command}};
  j["kernel"] = meta.kernel_release;
  j["hostname"] = meta.hostname;
  j["clock_monotonic_ns"] = meta.clock_monotonic_ns;  // what --at counts from
  j["duration_s"] = static_cast<double>(duration_ns(meta, first_ts_, last_ts_)) / 1e9;
  j["complete"] = read.complete;
  if (!meta.flight_trigger.empty())  // a flight-recorder dump: the window it holds
    j["flight"] = {{"trigger", meta.flight_trigger},
                   {"window_s", static_cast<double>(meta.flight_window_ms) / 1e3},
                   {"from_s", 0.0},
                   {"to_s", static_cast<double>(duration_ns(meta, first_ts_, last_ts_)) / 1e9}};
  if (!read.warning.empty()) j["warning"] = read.warning;
  j["total_events"] = total_;
  j["events"] = nlohmann::ordered_json::object();
  for (const auto& [k, n] : by_kind()) j["events"][k] = n;
  auto lat = latency();
  j["faults"] = {{"total", minor_ + major_},
                 {"minor", minor_},
                 {"major", major_},
                 {"read", read_},
                 {"write", write_},
                 {"exec", exec_},
                 {"unknown_access", unknown_access_},
                 {"protection", protection_},
                 {"in_kernel", in_kernel_},
                 {"incomplete", incomplete_},
                 {"latency_ns",
                  {{"p50", lat.p50}, {"p90", lat.p90}, {"p99", lat.p99}, {"max", lat.max},
                   {"samples", lat.samples}}}};
  j["lost"] = nlohmann::ordered_json::object();
  for (size_t r = 0; r < VT_LOST_MAX; r++)
    j["lost"][lost_reason_key(r)] = r < lost_.by_reason.size() ? lost_.by_reason[r] : 0;
  j["lost_total"] = lost_.total();
  return j;
}

std::string Summary::to_text(const TraceMeta& meta, const ReadSummary& read,
                             const std::string& file) const {
  std::ostringstream os;
  char buf[256];
  os << "vmatrace report: " << file << "\n";
  os << "  target:   pid " << meta.target_pid;
  if (!meta.command.empty()) {
    os << " (";
    for (size_t i = 0; i < meta.command.size(); i++) os << (i ? " " : "") << meta.command[i];
    os << ")";
  }
  os << "\n  recorded: kernel " << meta.kernel_release << " on " << meta.hostname << "\n";
  snprintf(buf, sizeof(buf), "  duration: %.3f s, %" PRIu64 " events\n",
           static_cast<double>(duration_ns(meta, first_ts_, last_ts_)) / 1e9, total_);
  os << buf;
  if (!meta.flight_trigger.empty()) {
    snprintf(buf, sizeof(buf), "  flight window: 0.000 to %.3f s, written on %s (--flight %.3g s)\n",
             static_cast<double>(duration_ns(meta, first_ts_, last_ts_)) / 1e9, meta.flight_trigger.c_str(),
             static_cast<double>(meta.flight_window_ms) / 1e3);
    os << buf;
  }
  if (!read.warning.empty()) os << "  WARNING: " << read.warning << "; showing what was recorded\n";

  os << "\nevents by kind:\n";
  auto counts = by_kind();
  std::vector<std::pair<std::string, uint64_t>> kinds(counts.begin(), counts.end());
  std::stable_sort(kinds.begin(), kinds.end(), [](auto& a, auto& b) { return a.second > b.second; });
  for (const auto& [k, n] : kinds) {
    snprintf(buf, sizeof(buf), "  %-14s %12" PRIu64 "\n", k.c_str(), n);
    os << buf;
  }

  auto lat = latency();
  snprintf(buf, sizeof(buf),
           "\nfaults: %" PRIu64 " (minor %" PRIu64 ", major %" PRIu64 ")\n"
           "  access: read %" PRIu64 ", write %" PRIu64 ", exec %" PRIu64 ", unknown %" PRIu64
           "; protection %" PRIu64 ", in kernel %" PRIu64 ", incomplete %" PRIu64 "\n",
           minor_ + major_, minor_, major_, read_, write_, exec_, unknown_access_, protection_,
           in_kernel_, incomplete_);
  os << buf;
  if (lat.samples)
    os << "  latency: p50 " << format_duration(lat.p50) << ", p90 " << format_duration(lat.p90)
       << ", p99 " << format_duration(lat.p99) << ", max " << format_duration(lat.max) << "\n";

  os << "\nlost events: " << lost_.total() << "\n";
  for (size_t r = 0; r < lost_.by_reason.size(); r++) {
    if (!lost_.by_reason[r]) continue;
    snprintf(buf, sizeof(buf), "  %-44s %12" PRIu64 "\n", lost_reason_name(r), lost_.by_reason[r]);
    os << buf;
  }
  return os.str();
}

}  // namespace vmatrace
