// tracefs, where per-syscall tracepoints live. A fresh machine often has it
// unmounted: vmatrace mounts it for as long as it attaches, then lets go, so
// nothing of it stays behind (attached tracepoints do not need the mount).
#pragma once

#include <string>

namespace vmatrace {

class Tracefs {
 public:
  // Finds tracefs, or mounts it at /sys/kernel/tracing (root, not under
  // lockdown=confidentiality, where it is empty anyway).
  Tracefs();
  ~Tracefs();
  Tracefs(const Tracefs&) = delete;
  Tracefs& operator=(const Tracefs&) = delete;

  // syscalls:NAME exists (sys_enter_mseal is 6.10+).
  bool has_syscall_event(const std::string& name) const;
  bool usable() const { return !events_.empty(); }

 private:
  std::string events_;    // .../tracing/events, "" if none
  std::string mounted_;   // where we mounted it ourselves
};

}  // namespace vmatrace
