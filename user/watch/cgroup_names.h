// cgroup v2 ids (what BPF reads: the directory's inode number) to paths
// relative to the cgroup2 mount, as /proc/PID/cgroup prints them. Filled by
// walking the mount; walked again on an unknown id, at most once a
// min_rescan_ns, so that a storm of short processes in new cgroups costs one
// walk, not one each.
#pragma once

#include <cstdint>
#include <string>
#include <unordered_map>

namespace vmatrace {

class CgroupNames {
 public:
  explicit CgroupNames(uint64_t min_rescan_ns = 1000000000ULL);
  // "" when unknown (no cgroup2 mounted, or a cgroup already removed).
  std::string path_of(uint64_t id, uint64_t now_ns);
  const std::string& mount() const { return mount_; }

 private:
  void rescan();

  std::string mount_;  // where cgroup2 is mounted, "" if nowhere
  std::unordered_map<uint64_t, std::string> paths_;
  uint64_t min_rescan_ns_;
  uint64_t last_scan_ns_ = 0;
  bool scanned_ = false;
};

// Where cgroup2 is mounted (from /proc/self/mountinfo), "" if nowhere.
std::string cgroup2_mount();

}  // namespace vmatrace
