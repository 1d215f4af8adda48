// `vmatrace check`: what this kernel offers, told by loading and attaching the
// programs a trace would use (then detaching them), not by guessing.
#include <nlohmann/json.hpp>

#include <cstdio>

#include "bpf/features.h"
#include "bpf/libbpf_log.h"
#include "bpf/session.h"
#include "cli/commands.h"

namespace vmatrace {
namespace {

struct FeatureState {
  const OptionalFeature* feature;
  std::string state;  // used, missing, refused
  std::string verifier_error;
  std::string probe_refusal;  // what the kernel said to the feature's probe
};

std::vector<FeatureState> feature_states(const Features& probed, const BpfSession* s) {
  std::vector<FeatureState> out;
  for (const auto& f : optional_features()) {
    FeatureState fs{&f, probed.*(f.flag) ? "used" : "missing", "", ""};
    if (auto why = probed.refused.find(f.name); why != probed.refused.end()) fs = {&f, "refused", "", why->second};
    if (s) {
      for (const auto& d : s->degradations())
        if (d.feature == f.name) fs = {&f, "refused", d.verifier_error, ""};
      if (fs.state == "used" && !(s->features().*(f.flag))) fs.state = "missing";
    }
    out.push_back(fs);
  }
  return out;
}

// The opt-in mmap_lock hook (--mmap-lock-hook), loaded and attached for real
// where the kernel has what it needs: "usable", "missing" or "refused".
struct OptIn {
  std::string state;
  std::string error;
};

OptIn mmap_lock_hook_state(const Features& probed) {
  if (!probed.mmap_lock_hook) return {"missing", ""};
  SessionOptions opts;
  opts.ringbuf_bytes = 1u << 20;
  opts.syscalls_at_mmap_lock = true;
  auto s = BpfSession::start(probed, opts, [](const void*, size_t) {});
  if (!s) return {"refused", s.error()};
  return {"usable", ""};
}

constexpr const char* kLockHookUse =
    "--mmap-lock-hook: syscalls caught at the mmap_lock; other processes' syscalls run nothing";
constexpr const char* kLockHookNeeds =
    "6.18+ (bpf_task_work_schedule_resume, mmap_lock tracepoints with 6.14 arguments, VMA iterator)";

void print_text(const Features& f, const std::vector<FeatureState>& states, const OptIn& lock,
                const std::string& why) {
  printf("kernel %s, lockdown: %s\n\nrequired:\n", f.kernel_release.c_str(), f.lockdown.c_str());
  auto req = [](const char* name, bool ok) { printf("  %-36s %s\n", name, ok ? "yes" : "NO"); };
  req("root", f.is_root);
  req("kernel BTF (/sys/kernel/btf/vmlinux)", f.btf);
  req("BPF ring buffer (5.8+)", f.ringbuf);
  req("perf sw events page-faults-min/-maj", f.perf_fault_events);
  req("programs load and attach", why.empty());
  printf("\noptional:\n");
  for (const auto& s : states) {
    printf("  %-19s %-8s %s\n", s.feature->name, s.state.c_str(),
           s.state == "used" ? s.feature->use : s.feature->loss);
    if (s.state == "missing") printf("  %-19s %-8s needs %s\n", "", "", s.feature->needs);
    if (!s.probe_refusal.empty()) printf("  %-19s %-8s %s\n", "", "", s.probe_refusal.c_str());
    if (!s.verifier_error.empty() && libbpf_verbose())
      printf("  %-19s %-8s verifier: %s\n", "", "", s.verifier_error.c_str());
  }
  printf("\nopt-in:\n  %-19s %-8s %s\n", "mmap_lock_hook", lock.state.c_str(),
         lock.state == "missing" ? kLockHookNeeds : kLockHookUse);
  if (!lock.error.empty()) printf("  %-19s %-8s %s\n", "", "", lock.error.c_str());
  printf("\nnot needed: kprobes (%s), tracefs (%s)\n", f.kprobes ? "present" : "absent",
         f.tracefs ? "mounted" : "not mounted");
  if (!why.empty()) {
    printf("\nvmatrace cannot trace here: %s\n", why.c_str());
    return;
  }
  bool all = true;
  for (const auto& s : states) all = all && s.state == "used";
  printf("\nvmatrace can trace here%s.\n", all ? " with every feature" : ", without what is listed above");
}

void print_json(const Features& f, const std::vector<FeatureState>& states, const OptIn& lock,
                const std::string& why) {
  nlohmann::json j;
  j["kernel"] = f.kernel_release;
  j["lockdown"] = f.lockdown;
  j["can_trace"] = why.empty();
  if (!why.empty()) j["error"] = why;
  for (const auto& s : states) {
    j["features"][s.feature->name] = s.state;
    if (!s.verifier_error.empty()) j["verifier_errors"][s.feature->name] = s.verifier_error;
    if (!s.probe_refusal.empty()) j["refusals"][s.feature->name] = s.probe_refusal;
  }
  j["opt_in"]["mmap_lock_hook"] = lock.state;
  if (!lock.error.empty()) j["refusals"]["mmap_lock_hook"] = lock.error;
  printf("%s\n", j.dump(2).c_str());
}

}  // namespace

int run_check(bool json) {
  Features probed = probe_features();
  std::string why = missing_requirement(probed);
  std::unique_ptr<BpfSession> session;
  if (why.empty()) {
    SessionOptions small;
    small.ringbuf_bytes = 1u << 20;
    auto s = BpfSession::start(probed, small, [](const void*, size_t) {});
    if (s)
      session = std::move(*s);
    else
      why = s.error();
  }
  auto states = feature_states(probed, session.get());
  session.reset();  // detach everything before printing
  OptIn lock = why.empty() ? mmap_lock_hook_state(probed) : OptIn{"missing", ""};
  json ? print_json(probed, states, lock, why) : print_text(probed, states, lock, why);
  return why.empty() ? 0 : 1;
}

}  // namespace vmatrace
