#include "report/storm_text.h"

#include <cinttypes>
#include <cstdio>

#include "events/abi.h"
#include "events/names.h"
#include "util/escape.h"
#include "util/strprintf.h"

namespace vmatrace {
namespace {

std::string base_name(const std::string& path) {
  auto slash = path.rfind('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

std::string percent(double share) { return strprintf("%.0f%%", share * 100); }

std::string process_phrase(uint32_t pid, const std::string& command, TextEscape mode) {
  std::string out = "pid " + std::to_string(pid);
  if (!command.empty()) out += " (" + escape_text(base_name(command), mode) + ")";
  return out;
}

// The VMA with most of a cause's faults, and how many if not all.
std::string vma_phrase(const Cause& c, TextEscape mode) {
  std::string out = escape_text(c.vma.name, mode) + strprintf(" %" PRIx64 "-%" PRIx64, c.vma.start, c.vma.end);
  if (c.vma.faults != c.faults) out += strprintf(" (%" PRIu64 " of them)", c.vma.faults);
  return out;
}

std::string size_phrase(uint64_t bytes) {
  if (bytes >= (1ULL << 20)) return strprintf("%.1f MiB", static_cast<double>(bytes) / (1 << 20));
  return strprintf("%.1f KiB", static_cast<double>(bytes) / 1024);
}

std::string origin_phrase(const VmaOrigin& o) {
  if (o.reason == VT_SNAP_SEED) return "mapped before tracing began";
  if (o.reason == VT_SNAP_FORK) return strprintf("inherited at fork at %.3f s", o.ns / 1e9);
  return strprintf("mapped by %s at %.3f s", origin_name(o).c_str(), o.ns / 1e9);
}

std::string fork_phrase(const Cause& c) {
  if (!c.fork) return "";
  if (c.fork->child == c.pid) return strprintf(", forked from %u at %.3f s", c.fork->parent, c.fork->ns / 1e9);
  return strprintf(", which forked %u at %.3f s", c.fork->child, c.fork->ns / 1e9);
}

std::string mprotect_phrase(const ProtectCall& m) {
  return strprintf("%s(0x%" PRIx64 ", %" PRIu64 ", %s) at %.3f s", syscall_name(m.sc), m.addr, m.len,
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
             strprintf(" (%" PRIu64 " read, %" PRIu64 " write, %" PRIu64 " exec)", c.read, c.write, c.exec) +
             " with no fork or mprotect behind them (NUMA balancing, userfaultfd, KSM, soft-dirty?)";
    case CauseKind::NoErrorCode:
      return n + " minor faults on " + vma + " whose entry was not traced (access unknown)";
  }
  return "";
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

std::string origin_name(const VmaOrigin& o) {
  if (o.sc) return syscall_name(o.sc);
  switch (o.reason) {
    case VT_SNAP_SEED: return "before tracing";
    case VT_SNAP_EXEC: return "exec";
    case VT_SNAP_FORK: return "fork";
    case kSnapResync: return "/proc resync";
    case kSnapResyncRacy: return "/proc resync during changes";
  }
  return "unknown";
}

}  // namespace vmatrace
