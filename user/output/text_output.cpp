#include "output/text_output.h"

#include <algorithm>
#include <cinttypes>
#include <cstring>
#include <string>
#include <vector>

#include "events/abi.h"
#include "events/names.h"
#include "model/maps_format.h"
#include "output/format.h"
#include "report/storm_text.h"
#include "util/escape.h"

namespace vmatrace {
namespace {

// Numbers are formatted, names appended: a long name must never be cut.

std::string syscall_text(const Event& e, const VmaInfo* vma) {
  std::string s = syscall_name(e.sc);
  s += "(";
  const auto& specs = syscall_args(e.sc);
  for (size_t i = 0; i < specs.size(); i++) {
    if (i) s += ", ";
    s += format_arg(specs[i].type, e.args[i]);
  }
  s += ") = ";
  std::string err = errno_name(e.ret);
  if (!err.empty()) {
    s += "-1 " + err.substr(1) + " (" + strerror(static_cast<int>(-e.ret)) + ")";
  } else if (e.sc == VT_SC_MMAP || e.sc == VT_SC_MREMAP || e.sc == VT_SC_SHMAT || e.sc == VT_SC_BRK) {
    s += hex_addr(static_cast<uint64_t>(e.ret));
  } else {
    s += std::to_string(e.ret);
  }
  if (vma) s += "  [" + maps_line(*vma) + "]";
  return s;
}

std::string fault_text(const Event& e) {
  bool entry_seen = !(e.fault_flags & VT_FAULT_NO_ENTRY);
  std::string s = "fault " + hex_addr(e.addr) + " ip=" + hex_addr(e.ip);
  if (entry_seen) {
    s += " ";
    s += fault_access(e.error_code);
  }
  s += (e.fault_flags & VT_FAULT_MAJOR) ? " major" : " minor";
  if (entry_seen) s += (e.error_code & VT_PF_PROT) ? " protection" : " not-present";
  if (e.fault_flags & VT_FAULT_KERNEL) s += " in-kernel";
  if (e.fault_flags & VT_FAULT_INCOMPLETE)
    s += " incomplete";
  else if (entry_seen)
    s += " " + format_duration(e.latency_ns);
  return s;
}

// The call chain of a cause, innermost first.
std::string chain_text(const std::vector<std::string>& frames) {
  std::string out;
  for (const auto& f : frames) out += (out.empty() ? "" : " <- ") + escape_text(f);
  return out;
}

std::string storm_lines(const Storm& s, int n) {
  std::string out = strprintf("  #%d at %.3f s for %.3f s: ", n, s.start_ns / 1e9, (s.end_ns - s.start_ns) / 1e9);
  out += storm_diagnosis(s) + "\n";
  out += strprintf("      %" PRIu64 " faults (minor %" PRIu64 ", major %" PRIu64
                   "), peak %.0f/s, mean %.0f/s; latency p50 %s p99 %s max %s\n",
                   s.faults, s.minor, s.major, s.peak_rate, s.mean_rate, format_duration(s.latency.p50).c_str(),
                   format_duration(s.latency.p99).c_str(), format_duration(s.latency.max).c_str());
  for (const Cause& c : s.causes) {
    out += strprintf("      cause %5.1f%%  ", c.share * 100) + cause_sentence(c) + "\n";
    if (!c.stack.empty())
      out += "             stack  " + chain_text(c.stack) +
             strprintf("  (%" PRIu64 " sampled faults)\n", c.stack_faults);
  }
  for (const StormProcess& p : s.processes) {
    out += strprintf("      pid  %10" PRIu64 "  %u ", p.faults, p.pid) + escape_text(p.command);
    out += p.parent ? strprintf(" (parent %u)\n", p.parent) : "\n";
  }
  for (const Share& v : s.vmas)
    out += strprintf("      vma  %10" PRIu64 "  %" PRIx64 "-%" PRIx64 " ", v.faults, v.start, v.end) +
           escape_text(v.name) + "\n";
  for (const Share& c : s.code) out += strprintf("      code %10" PRIu64 "  ", c.faults) + escape_text(c.name) + "\n";
  return out;
}

std::string gone_note(const Lifetime& l) {
  if (l.folded) return " (" + std::to_string(l.folded) + " gone, folded)";
  return l.ended_ns ? " (gone)" : "";
}

constexpr size_t kTopVmas = 10;

}  // namespace

std::string TextOutput::event(const Event& e, const VmaInfo* vma, uint64_t t0) const {
  std::string s = strprintf("%12.6f %u/%u ", seconds_since(e.ts, t0), e.pid, e.tid);
  switch (e.kind) {
    case Kind::Syscall:
      return s + syscall_text(e, vma);
    case Kind::Fault:
      return s + fault_text(e);
    case Kind::Vma:
      return s + "vma " + maps_line(e.vma);
    case Kind::Exec:
      return s + "exec " + (e.filename.empty() ? "?" : escape_text(e.filename));
    case Kind::Fork:
      return s + ((e.fork_flags & VT_FORK_THREAD) ? "clone thread " : "fork process ") +
             std::to_string(e.child_pid) + "/" + std::to_string(e.child_tid);
    case Kind::Exit:
      return s + "exit " + ((e.exit_flags & VT_EXIT_GROUP_DEAD) ? "process" : "thread") +
             " status=" + std::to_string(e.exit_code);
    case Kind::Stats:
    case Kind::Snapshot:
    case Kind::Stack:
      return "";
  }
  return s;
}

void TextOutput::storms(const Analysis& a) {
  std::string out = strprintf("fault storms: %zu (baseline %.0f faults/s)\n", a.storms.size(), a.baseline_rate);
  int n = 1;
  for (const Storm& s : a.storms) out += storm_lines(s, n++);
  storms_ = out + "\n";
}

void TextOutput::summary(const TraceMeta& raw_meta, const ReadSummary& read, const std::string& file,
                         const Summary& s) {
  const TraceMeta meta = meta_for_text(raw_meta);
  const double duration_s = static_cast<double>(s.duration_ns(raw_meta)) / 1e9;
  std::string out = "vmatrace report: " + file + "\n";
  out += "  target:   pid " + std::to_string(meta.target_pid);
  if (!meta.command.empty()) {
    out += " (";
    for (size_t i = 0; i < meta.command.size(); i++) out += (i ? " " : "") + meta.command[i];
    out += ")";
  }
  out += "\n  recorded: kernel " + meta.kernel_release + " on " + meta.hostname + "\n";
  if (meta.syscall_hook == "mmap_lock")
    out += "  syscalls: caught at the mmap_lock (--mmap-lock-hook): calls that took no write lock are not here\n";
  else if (!meta.syscall_hook.empty())
    out += "  syscalls: caught at " + meta.syscall_hook + "\n";
  out += strprintf("  duration: %.3f s, %" PRIu64 " events\n", duration_s, s.total_events());
  if (!meta.flight_trigger.empty())
    out += strprintf("  flight window: 0.000 to %.3f s, written on ", duration_s) + meta.flight_trigger +
           strprintf(" (--flight %.3g s)\n", static_cast<double>(meta.flight_window_ms) / 1e3);
  if (!read.warning.empty()) out += "  WARNING: " + read.warning + "; showing what was recorded\n";

  out += "\nevents by kind:\n";
  auto counts = s.by_kind();
  std::vector<std::pair<std::string, uint64_t>> kinds(counts.begin(), counts.end());
  std::stable_sort(kinds.begin(), kinds.end(), [](auto& a, auto& b) { return a.second > b.second; });
  for (const auto& [k, n] : kinds) out += strprintf("  %-14s %12" PRIu64 "\n", k.c_str(), n);

  const FaultMix& f = s.fault_mix();
  out += strprintf("\nfaults: %" PRIu64 " (minor %" PRIu64 ", major %" PRIu64 ")\n"
                   "  access: read %" PRIu64 ", write %" PRIu64 ", exec %" PRIu64 ", unknown %" PRIu64
                   "; protection %" PRIu64 ", in kernel %" PRIu64 ", incomplete %" PRIu64 "\n",
                   f.total(), f.minor, f.major, f.read, f.write, f.exec, f.unknown_access, f.protection,
                   f.in_kernel, f.incomplete);
  auto lat = s.latency();
  if (lat.samples)
    out += "  latency: p50 " + format_duration(lat.p50) + ", p90 " + format_duration(lat.p90) + ", p99 " +
           format_duration(lat.p99) + ", max " + format_duration(lat.max) + "\n";

  const LostCounts& lost = s.lost();
  out += "\nlost events: " + std::to_string(lost.total()) + "\n";
  for (size_t r = 0; r < lost.by_reason.size(); r++)
    if (lost.by_reason[r]) out += strprintf("  %-44s %12" PRIu64 "\n", lost_reason_name(r), lost.by_reason[r]);
  summary_ = out;
}

void TextOutput::vmas(Model& model) {
  model.refresh_open_names();
  std::vector<const Lifetime*> by_faults;
  for (const Lifetime* l : model.lifetimes().all())
    if (l->faults.total()) by_faults.push_back(l);
  std::stable_sort(by_faults.begin(), by_faults.end(),
                   [](const Lifetime* a, const Lifetime* b) { return a->faults.total() > b->faults.total(); });
  if (by_faults.size() > kTopVmas) by_faults.resize(kTopVmas);
  std::string out = "\ntop VMAs by faults:\n";
  if (by_faults.empty()) {
    vmas_ = out + "  (no faults charged to a VMA)\n";
    return;
  }
  out += strprintf("  %-33s %-4s %10s %8s %8s %9s  %s\n", "range", "perm", "faults", "minor", "major", "p99", "name");
  for (const Lifetime* l : by_faults) {
    const FaultStats& f = l->faults;
    auto lat = f.latency.percentiles();
    std::string range = strprintf("%" PRIx64 "-%" PRIx64, l->info.start, l->info.end);
    out += strprintf("  %-33s %-4s %10" PRIu64 " %8" PRIu64 " %8" PRIu64 " %9s  ", range.c_str(),
                     vma_perms(l->info.flags).c_str(), f.total(), f.minor, f.major,
                     lat.samples ? format_duration(lat.p99).c_str() : "-");
    out += (l->name.empty() ? "[anon]" : escape_text(l->name)) + gone_note(*l) + "\n";
  }
  vmas_ = out;
}

std::string TextOutput::document() const {
  return storms_.value_or("") + summary_.value_or("") + vmas_.value_or("");
}

}  // namespace vmatrace
