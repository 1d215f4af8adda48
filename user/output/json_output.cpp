#include "output/json_output.h"

#include "events/abi.h"
#include "events/names.h"
#include "model/maps_format.h"
#include "output/format.h"
#include "report/storm_text.h"
#include "util/escape.h"

namespace vmatrace {
namespace {

using Json = nlohmann::ordered_json;

void add_syscall(Json& j, const Event& e, const VmaInfo* vma) {
  const auto& specs = syscall_args(e.sc);
  for (size_t i = 0; i < specs.size(); i++) j[specs[i].name] = json_arg_value(specs[i].type, e.args[i]);
  j["ret"] = e.ret;
  std::string err = errno_name(e.ret);
  if (!err.empty()) j["error"] = err.substr(1);
  j["duration_ns"] = e.duration_ns;
  if (vma) j["vma"] = vma_json(*vma);
}

void add_fault(Json& j, const Event& e) {
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
}

Json parent_json(uint32_t parent) { return parent ? Json(parent) : Json(); }

Json origin_json(const VmaOrigin& o) {
  Json j = {{"by", origin_name(o)}};
  j["at_s"] = o.reason == VT_SNAP_SEED ? Json() : Json(o.ns / 1e9);
  return j;
}

Json cause_json(const Cause& c) {
  Json j;
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

Json storm_json(const Storm& s) {
  Json j;
  j["start_s"] = s.start_ns / 1e9;
  j["duration_s"] = (s.end_ns - s.start_ns) / 1e9;
  j["faults"] = s.faults;
  j["minor"] = s.minor;
  j["major"] = s.major;
  j["peak_rate"] = s.peak_rate;
  j["mean_rate"] = s.mean_rate;
  j["latency_ns"] = {{"p50", s.latency.p50}, {"p99", s.latency.p99}, {"max", s.latency.max}};
  j["diagnosis"] = storm_diagnosis(s);
  j["pids"] = Json::array();
  for (const StormProcess& p : s.processes)
    j["pids"].push_back({{"pid", p.pid}, {"command", p.command}, {"parent", parent_json(p.parent)}, {"faults", p.faults}});
  j["cause"] = Json::array();
  for (const Cause& c : s.causes) j["cause"].push_back(cause_json(c));
  j["vmas"] = Json::array();
  for (const Share& v : s.vmas)
    j["vmas"].push_back({{"start", v.start}, {"end", v.end}, {"path", v.name}, {"faults", v.faults}});
  j["code"] = Json::array();
  for (const Share& c : s.code) j["code"].push_back({{"symbol", c.name}, {"faults", c.faults}});
  return j;
}

Json lifetime_json(const Lifetime& l) {
  const FaultStats& f = l.faults;
  auto lat = f.latency.percentiles();
  Json j = {{"pid", l.pid}};
  j.update(vma_json(l.info));
  j["path"] = l.name;  // as maps printed it: [heap], [stack] too
  j["appeared_s"] = static_cast<double>(l.appeared_ns) / 1e9;
  j["at_start"] = l.at_start;
  if (l.ended_ns)
    j["ended_s"] = static_cast<double>(*l.ended_ns) / 1e9;
  else
    j["ended_s"] = nullptr;
  j["faults"] = {{"total", f.total()}, {"minor", f.minor}, {"major", f.major}, {"read", f.read},
                 {"write", f.write},   {"exec", f.exec},
                 {"latency_ns", {{"p50", lat.p50}, {"p90", lat.p90}, {"p99", lat.p99}, {"max", lat.max}}}};
  if (l.folded) j["folded"] = l.folded;
  return j;
}

}  // namespace

std::string JsonOutput::event(const Event& e, const VmaInfo* vma, uint64_t t0) const {
  if (e.kind == Kind::Stats || e.kind == Kind::Snapshot || e.kind == Kind::Stack) return "";
  Json j;
  j["kind"] = kind_name(e);
  j["ts"] = static_cast<int64_t>(e.ts - t0);
  j["pid"] = e.pid;
  j["tid"] = e.tid;
  switch (e.kind) {
    case Kind::Syscall:
      add_syscall(j, e, vma);
      break;
    case Kind::Fault:
      add_fault(j, e);
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

void JsonOutput::storms(const Analysis& a) {
  storms_ = Json::array();
  for (const Storm& s : a.storms) storms_.push_back(storm_json(s));
}

void JsonOutput::summary(const TraceMeta& meta, const ReadSummary& read, const std::string&, const Summary& s) {
  const double duration_s = static_cast<double>(s.duration_ns(meta)) / 1e9;
  Json& j = summary_;
  j["target"] = {{"pid", meta.target_pid}, {"command", meta.command}};
  j["kernel"] = meta.kernel_release;
  j["hostname"] = meta.hostname;
  if (!meta.syscall_hook.empty()) j["syscall_hook"] = meta.syscall_hook;
  j["clock_monotonic_ns"] = meta.clock_monotonic_ns;  // what --at counts from
  j["duration_s"] = duration_s;
  j["complete"] = read.complete;
  if (!meta.flight_trigger.empty())  // a flight-recorder dump: the window it holds
    j["flight"] = {{"trigger", meta.flight_trigger},
                   {"window_s", static_cast<double>(meta.flight_window_ms) / 1e3},
                   {"from_s", 0.0},
                   {"to_s", duration_s}};
  if (!read.warning.empty()) j["warning"] = read.warning;
  j["total_events"] = s.total_events();
  j["events"] = Json::object();
  for (const auto& [k, n] : s.by_kind()) j["events"][k] = n;
  const FaultMix& f = s.fault_mix();
  auto lat = s.latency();
  j["faults"] = {{"total", f.total()},
                 {"minor", f.minor},
                 {"major", f.major},
                 {"read", f.read},
                 {"write", f.write},
                 {"exec", f.exec},
                 {"unknown_access", f.unknown_access},
                 {"protection", f.protection},
                 {"in_kernel", f.in_kernel},
                 {"incomplete", f.incomplete},
                 {"latency_ns",
                  {{"p50", lat.p50}, {"p90", lat.p90}, {"p99", lat.p99}, {"max", lat.max},
                   {"samples", lat.samples}}}};
  const LostCounts& lost = s.lost();
  j["lost"] = Json::object();
  for (size_t r = 0; r < VT_LOST_MAX; r++)
    j["lost"][lost_reason_key(r)] = r < lost.by_reason.size() ? lost.by_reason[r] : 0;
  j["lost_total"] = lost.total();
}

void JsonOutput::model_stats(const ModelStats& s) {
  auto uncertain = Json::array();
  for (const Uncertainty& u : s.uncertain)
    uncertain.push_back({{"pid", u.pid},
                         {"from_s", static_cast<double>(u.from_ns) / 1e9},
                         {"to_s", u.to_ns ? Json(static_cast<double>(*u.to_ns) / 1e9) : nullptr},
                         {"reason", u.reason}});
  model_ = {{"snapshots", s.snapshots},
            {"snapshots_failed", s.snapshots_failed},
            {"resyncs", s.resyncs},
            {"resyncs_during_changes", s.resyncs_during_changes},
            {"resyncs_malformed", s.resyncs_malformed},
            {"superseded", s.superseded},
            {"faults_charged", s.faults_charged},
            {"faults_outside_vmas", s.faults_unmapped},
            {"stack_growths", s.stack_growths},
            {"uncertain", uncertain}};
}

void JsonOutput::vmas(Model& model) {
  model.refresh_open_names();
  vmas_ = Json::array();
  for (const Lifetime* l : model.lifetimes().all()) vmas_.push_back(lifetime_json(*l));
}

Json JsonOutput::json() const {
  Json j = summary_;
  if (!storms_.is_null()) j["storms"] = storms_;
  if (!model_.is_null()) j["model"] = model_;
  if (!vmas_.is_null()) j["vmas"] = vmas_;
  return j;
}

std::string JsonOutput::document() const { return dump_json(json(), 2) + "\n"; }

}  // namespace vmatrace
