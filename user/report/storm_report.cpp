#include "report/storm_report.h"

#include <cinttypes>
#include <cstdarg>
#include <cstdio>

#include "events/abi.h"
#include "events/names.h"
#include "report/format.h"
#include "util/escape.h"

namespace vmatrace {
namespace {

std::string base_name(const std::string& path) {
  auto slash = path.rfind('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

std::string fmt(const char* f, ...) __attribute__((format(printf, 1, 2)));
std::string fmt(const char* f, ...) {
  char buf[1024];
  va_list ap;
  va_start(ap, f);
  vsnprintf(buf, sizeof(buf), f, ap);
  va_end(ap);
  return buf;
}

std::string percent(double share) { return fmt("%.0f%%", share * 100); }

std::string process_phrase(uint32_t pid, const std::string& command, TextEscape mode) {
  std::string out = "pid " + std::to_string(pid);
  if (!command.empty()) out += " (" + escape_text(base_name(command), mode) + ")";
  return out;
}

// The VMA with most of a cause's faults, and how many if not all.
std::string vma_phrase(const Cause& c, TextEscape mode) {
  std::string out = escape_text(c.vma.name, mode) + fmt(" %" PRIx64 "-%" PRIx64, c.vma.start, c.vma.end);
  if (c.vma.faults != c.faults) out += fmt(" (%" PRIu64 " of them)", c.vma.faults);
  return out;
}

std::string size_phrase(uint64_t bytes) {
  if (bytes >= (1ULL << 20)) return fmt("%.1f MiB", static_cast<double>(bytes) / (1 << 20));
  return fmt("%.1f KiB", static_cast<double>(bytes) / 1024);
}

// What made a VMA's memory, for people and for JSON.
std::string origin_name(const VmaOrigin& o) {
  if (o.sc) return syscall_name(o.sc);
  switch (o.reason) {
    case VT_SNAP_SEED: return "before tracing";
    case VT_SNAP_EXEC: return "exec";
    case VT_SNAP_FORK: return "fork";
    case kSnapResync: return "/proc resync";
  }
  return "unknown";
}

std::string origin_phrase(const VmaOrigin& o) {
  if (o.reason == VT_SNAP_SEED) return "mapped before tracing began";
  if (o.reason == VT_SNAP_FORK) return fmt("inherited at fork at %.3f s", o.ns / 1e9);
  return fmt("mapped by %s at %.3f s", origin_name(o).c_str(), o.ns / 1e9);
}

std::string fork_phrase(const Cause& c) {
  if (!c.fork) return "";
  if (c.fork->child == c.pid) return fmt(", forked from %u at %.3f s", c.fork->parent, c.fork->ns / 1e9);
  return fmt(", which forked %u at %.3f s", c.fork->child, c.fork->ns / 1e9);
}

std::string mprotect_phrase(const ProtectCall& m) {
  return fmt("%s(0x%" PRIx64 ", %" PRIu64 ", %s) at %.3f s", syscall_name(m.sc), m.addr, m.len,
             format_arg(ArgType::Prot, m.prot).c_str(), m.ns / 1e9);
}

// Numbers are formatted, names appended: a long name must not be cut.
std::string evidence(const Cause& c, TextEscape mode) {
  const std::string vma = vma_phrase(c, mode);
  const std::string file = c.vma.faults == c.faults ? escape_text(c.vma.name, mode) : vma;
  const std::string n = std::to_string(c.faults);
  const std::string mapped = size_phrase(c.vma.end - c.vma.start) + " mapped";
  switch (c.kind) {
    case CauseKind::FirstTouch: {
      std::string out = n + " faults on new pages of " + vma + ", " + origin_phrase(c.vma.origin);
      if (c.after_read) out += "; " + std::to_string(c.after_read) + " of them writes copying the zero page after a read";
      return out;
    }
    case CauseKind::CowAfterFork:
      return n + " write faults on present pages of private " + vma;
    case CauseKind::PageCacheMiss:
      return n + " major faults reading " + file + " (" + mapped + ")";
    case CauseKind::SwapIn:
      return n + " major faults on anonymous " + vma;
    case CauseKind::ProtectionChange: {
      std::string out = n + " faults on pages of " + vma + " just after " + std::to_string(c.mprotect_calls) +
                        " mprotect calls";
      if (c.mprotect) out += " (" + mprotect_phrase(*c.mprotect) + (c.mprotect_calls > 1 ? ", ...)" : ")");
      if (c.refused) out += "; " + std::to_string(c.refused) + " accesses refused first (SIGSEGV), then retried";
      return out;
    }
    case CauseKind::CodePageIn:
      return n + " instruction fetches from " + file + " (" + std::to_string(c.major) + " major)";
    case CauseKind::FileCached:
      return n + " minor faults mapping pages of " + file + " (" + mapped + ") from the page cache";
    case CauseKind::UnexplainedProtection:
      return n + " faults on present pages of " + vma +
             fmt(" (%" PRIu64 " read, %" PRIu64 " write, %" PRIu64 " exec)", c.read, c.write, c.exec) +
             " with no fork or mprotect behind them (NUMA balancing, userfaultfd, KSM, soft-dirty?)";
    case CauseKind::NoErrorCode:
      return n + " minor faults on " + vma + " whose entry was not traced (access unknown)";
  }
  return "";
}

std::string chain_text(const std::vector<std::string>& frames) {
  std::string out;
  for (const auto& f : frames) out += (out.empty() ? "" : " <- ") + escape_text(f);
  return out;
}

nlohmann::ordered_json origin_json(const VmaOrigin& o) {
  nlohmann::ordered_json j = {{"by", origin_name(o)}};
  j["at_s"] = o.reason == VT_SNAP_SEED ? nlohmann::ordered_json() : nlohmann::ordered_json(o.ns / 1e9);
  return j;
}

nlohmann::ordered_json parent_json(uint32_t parent) {
  return parent ? nlohmann::ordered_json(parent) : nlohmann::ordered_json();
}

nlohmann::ordered_json cause_json(const Cause& c) {
  nlohmann::ordered_json j;
  j["kind"] = cause_key(c.kind);
  j["share"] = c.share;
  j["faults"] = c.faults;
  j["read"] = c.read;
  j["write"] = c.write;
  j["exec"] = c.exec;
  j["major"] = c.major;
  j["pid"] = c.pid;
  j["command"] = c.command;
  j["parent"] = parent_json(c.parent);
  j["vma"] = {{"start", c.vma.start}, {"end", c.vma.end},   {"path", c.vma.name},
              {"perms", vma_perms(c.vma.flags)}, {"faults", c.vma.faults}, {"made_by", origin_json(c.vma.origin)}};
  switch (c.kind) {
    case CauseKind::FirstTouch:
      j["after_read"] = c.after_read;
      break;
    case CauseKind::CowAfterFork:
      if (c.fork) j["fork"] = {{"parent", c.fork->parent}, {"child", c.fork->child}, {"at_s", c.fork->ns / 1e9}};
      break;
    case CauseKind::PageCacheMiss:
    case CauseKind::CodePageIn:
    case CauseKind::FileCached:
      j["file"] = c.vma.name;
      j["mapped_bytes"] = c.vma.end - c.vma.start;
      break;
    case CauseKind::ProtectionChange:
      j["mprotect_calls"] = c.mprotect_calls;
      if (c.mprotect)
        j["mprotect"] = {{"call", syscall_name(c.mprotect->sc)}, {"pid", c.mprotect->pid}, {"tid", c.mprotect->tid},
                         {"addr", c.mprotect->addr}, {"len", c.mprotect->len}, {"prot", c.mprotect->prot},
                         {"at_s", c.mprotect->ns / 1e9}};
      j["refused"] = c.refused;
      break;
    default:
      break;
  }
  if (!c.stack.empty()) {
    j["stack"] = c.stack;
    j["stack_faults"] = c.stack_faults;
  }
  return j;
}

}  // namespace

std::string cause_sentence(const Cause& c, bool with_share, TextEscape mode) {
  std::string who = process_phrase(c.pid, c.command, mode);
  if (c.kind == CauseKind::CowAfterFork) who += fork_phrase(c);
  std::string title = cause_title(c.kind);
  if (with_share) title += " (" + percent(c.share) + ")";
  return title + " in " + who + ": " + evidence(c, mode);
}

std::string storm_diagnosis(const Storm& s, TextEscape mode) {
  if (s.causes.empty()) return "no completed fault was read";
  std::string out = cause_sentence(s.causes[0], true, mode);
  for (size_t i = 1; i < s.causes.size(); i++)
    if (s.causes[i].share >= 0.05) out += std::string("; also ") + cause_title(s.causes[i].kind) + " " + percent(s.causes[i].share);
  return out;
}

std::string storm_cause_label(const Storm& s, TextEscape mode) {
  if (s.causes.empty()) return "cause unknown";
  const Cause& c = s.causes[0];
  std::string out = std::string(cause_title(c.kind)) + " " + percent(c.share) + " in " + process_phrase(c.pid, c.command, mode);
  if (s.causes.size() > 1 && s.causes[1].share >= 0.05)
    out += std::string(", ") + cause_title(s.causes[1].kind) + " " + percent(s.causes[1].share);
  return out;
}

// Sentences come with their names escaped; the other lines escape theirs.
std::string storms_text(const Analysis& a) {
  std::string out = fmt("fault storms: %zu (baseline %.0f faults/s)\n", a.storms.size(), a.baseline_rate);
  int n = 1;
  for (const Storm& s : a.storms) {
    out += fmt("  #%d at %.3f s for %.3f s: ", n++, s.start_ns / 1e9, (s.end_ns - s.start_ns) / 1e9);
    out += storm_diagnosis(s) + "\n";
    out += fmt("      %" PRIu64 " faults (minor %" PRIu64 ", major %" PRIu64
               "), peak %.0f/s, mean %.0f/s; latency p50 %s p99 %s max %s\n",
               s.faults, s.minor, s.major, s.peak_rate, s.mean_rate, format_duration(s.latency.p50).c_str(),
               format_duration(s.latency.p99).c_str(), format_duration(s.latency.max).c_str());
    for (const Cause& c : s.causes) {
      out += fmt("      cause %5.1f%%  ", c.share * 100) + cause_sentence(c) + "\n";
      if (!c.stack.empty())
        out += "             stack  " + chain_text(c.stack) +
               fmt("  (%" PRIu64 " sampled faults)\n", c.stack_faults);
    }
    for (const StormProcess& p : s.processes) {
      out += fmt("      pid  %10" PRIu64 "  %u ", p.faults, p.pid) + escape_text(p.command);
      out += p.parent ? fmt(" (parent %u)\n", p.parent) : "\n";
    }
    for (const Share& v : s.vmas)
      out += fmt("      vma  %10" PRIu64 "  %" PRIx64 "-%" PRIx64 " ", v.faults, v.start, v.end) + escape_text(v.name) + "\n";
    for (const Share& c : s.code) out += fmt("      code %10" PRIu64 "  ", c.faults) + escape_text(c.name) + "\n";
  }
  return out + "\n";
}

nlohmann::ordered_json storms_json(const Analysis& a) {
  auto out = nlohmann::ordered_json::array();
  for (const Storm& s : a.storms) {
    nlohmann::ordered_json j;
    j["start_s"] = s.start_ns / 1e9;
    j["duration_s"] = (s.end_ns - s.start_ns) / 1e9;
    j["faults"] = s.faults;
    j["minor"] = s.minor;
    j["major"] = s.major;
    j["peak_rate"] = s.peak_rate;
    j["mean_rate"] = s.mean_rate;
    j["latency_ns"] = {{"p50", s.latency.p50}, {"p99", s.latency.p99}, {"max", s.latency.max}};
    j["diagnosis"] = storm_diagnosis(s);
    j["pids"] = nlohmann::ordered_json::array();
    for (const StormProcess& p : s.processes)
      j["pids"].push_back(
          {{"pid", p.pid}, {"command", p.command}, {"parent", parent_json(p.parent)}, {"faults", p.faults}});
    j["cause"] = nlohmann::ordered_json::array();
    for (const Cause& c : s.causes) j["cause"].push_back(cause_json(c));
    j["vmas"] = nlohmann::ordered_json::array();
    for (const Share& v : s.vmas)
      j["vmas"].push_back({{"start", v.start}, {"end", v.end}, {"path", v.name}, {"faults", v.faults}});
    j["code"] = nlohmann::ordered_json::array();
    for (const Share& c : s.code) j["code"].push_back({{"symbol", c.name}, {"faults", c.faults}});
    out.push_back(std::move(j));
  }
  return out;
}

}  // namespace vmatrace
