// tracefs, where the per-syscall tracepoints' ids live. Where it is not
// mounted, vmatrace mounts it in a private directory of its own for as long
// as it attaches (attached tracepoints do not need the mount), so that it
// neither leaves a mount behind nor pulls one from under another tool.
#pragma once

#include <string>

namespace vmatrace {

class Tracefs {
 public:
  // Finds tracefs, or mounts it privately (root, and not under
  // lockdown=confidentiality, where its events are empty anyway).
  Tracefs();
  ~Tracefs();
  Tracefs(const Tracefs&) = delete;
  Tracefs& operator=(const Tracefs&) = delete;

  bool usable() const { return !events_.empty(); }
  // The id of syscalls:NAME (sys_enter_mseal is 6.10+), or -1.
  long syscall_event_id(const std::string& name) const;

 private:
  std::string events_;   // .../events, "" if none
  std::string private_;  // the directory we mounted it on ourselves
};

}  // namespace vmatrace
