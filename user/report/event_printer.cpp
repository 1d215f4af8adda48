#include "report/event_printer.h"

#include <cinttypes>
#include <cstring>
#include <nlohmann/json.hpp>

#include "events/abi.h"
#include "events/names.h"
#include "report/format.h"
#include "util/escape.h"

namespace vmatrace {

std::string EventPrinter::format(const Event& e) {
  switch (e.kind) {
    case Kind::Stats:
    case Kind::Stack:
      return "";
    case Kind::Vma:
      recent_vmas_[e.tid].push_back(e.vma);
      return "";
    case Kind::Snapshot:
      // Only a syscall's own snapshot describes its result.
      if (e.snap_reason != VT_SNAP_SYSCALL) recent_vmas_.erase(e.tid);
      return "";
    default:
      break;
  }
  const VmaInfo* vma = nullptr;
  auto it = recent_vmas_.find(e.tid);
  if (e.kind == Kind::Syscall && it != recent_vmas_.end() && e.ret >= 0) {
    auto ret = static_cast<uint64_t>(e.ret);
    for (const auto& v : it->second)
      if (v.start <= ret && ret < v.end) vma = &v;
  }
  std::string line = json_ ? json_line(e, vma) : text_line(e, vma);
  if (e.kind == Kind::Syscall && it != recent_vmas_.end()) recent_vmas_.erase(it);
  return line;
}

void EventPrinter::print(const Event& e) {
  std::string line = format(e);
  if (line.empty()) return;
  line += '\n';
  fwrite(line.data(), 1, line.size(), out_);
}

std::string EventPrinter::text_line(const Event& e, const VmaInfo* vma) const {
  char head[64];
  snprintf(head, sizeof(head), "%12.6f %u/%u ", seconds_since(e.ts, t0_), e.pid, e.tid);
  std::string s = head;
  switch (e.kind) {
    case Kind::Syscall: {
      s += syscall_name(e.sc);
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
    case Kind::Fault: {
      bool entry_seen = !(e.fault_flags & VT_FAULT_NO_ENTRY);
      s += "fault " + hex_addr(e.addr) + " ip=" + hex_addr(e.ip);
      if (entry_seen) {
        s += " ";
        s += fault_access(e.error_code);
      }
      s += (e.fault_flags & VT_FAULT_MAJOR) ? " major" : " minor";
      if (entry_seen) s += (e.error_code & VT_PF_PROT) ? " protection" : " not-present";
      if (e.fault_flags & VT_FAULT_KERNEL) s += " in-kernel";
      if (e.fault_flags & VT_FAULT_INCOMPLETE)
        s += " incomplete";
      else if (!(e.fault_flags & VT_FAULT_NO_ENTRY))
        s += " " + format_duration(e.latency_ns);
      return s;
    }
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

std::string EventPrinter::json_line(const Event& e, const VmaInfo* vma) const {
  nlohmann::ordered_json j;
  j["kind"] = kind_name(e);
  j["ts"] = static_cast<int64_t>(e.ts - t0_);
  j["pid"] = e.pid;
  j["tid"] = e.tid;
  switch (e.kind) {
    case Kind::Syscall: {
      const auto& specs = syscall_args(e.sc);
      for (size_t i = 0; i < specs.size(); i++) j[specs[i].name] = json_arg_value(specs[i].type, e.args[i]);
      j["ret"] = e.ret;
      std::string err = errno_name(e.ret);
      if (!err.empty()) j["error"] = err.substr(1);
      j["duration_ns"] = e.duration_ns;
      if (vma) j["vma"] = vma_json(*vma);
      break;
    }
    case Kind::Fault:
      j["addr"] = e.addr;
      j["ip"] = e.ip;
      // Without the entry tracepoint the error code, hence the access, is unknown.
      if (e.fault_flags & VT_FAULT_NO_ENTRY) {
        j["access"] = "unknown";
      } else {
        j["access"] = fault_access(e.error_code);
        j["protection"] = (e.error_code & VT_PF_PROT) != 0;
      }
      j["major"] = (e.fault_flags & VT_FAULT_MAJOR) != 0;
      j["in_kernel"] = (e.fault_flags & VT_FAULT_KERNEL) != 0;
      j["complete"] = (e.fault_flags & VT_FAULT_INCOMPLETE) == 0;
      if (!(e.fault_flags & (VT_FAULT_INCOMPLETE | VT_FAULT_NO_ENTRY))) j["latency_ns"] = e.latency_ns;
      if (!(e.fault_flags & VT_FAULT_NO_ENTRY)) j["error_code"] = e.error_code;
      if (e.stack_id >= 0) j["stack_id"] = e.stack_id;
      break;
    case Kind::Vma:
      j["vma"] = vma_json(e.vma);
      break;
    case Kind::Exec:
      j["filename"] = e.filename;
      j["old_tid"] = e.old_tid;
      break;
    case Kind::Fork:
      j["child_pid"] = e.child_pid;
      j["child_tid"] = e.child_tid;
      j["thread"] = (e.fork_flags & VT_FORK_THREAD) != 0;
      break;
    case Kind::Exit:
      j["status"] = e.exit_code;
      j["process"] = (e.exit_flags & VT_EXIT_GROUP_DEAD) != 0;
      break;
    case Kind::Stats:
    case Kind::Snapshot:
    case Kind::Stack:
      break;
  }
  return dump_json(j);
}

}  // namespace vmatrace
