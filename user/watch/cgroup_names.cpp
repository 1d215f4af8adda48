#include "watch/cgroup_names.h"

#include <sys/stat.h>

#include <fstream>
#include <filesystem>
#include <sstream>

namespace vmatrace {
namespace fs = std::filesystem;

std::string cgroup2_mount() {
  std::ifstream in("/proc/self/mountinfo");
  std::string line;
  while (std::getline(in, line)) {
    // "ID PARENT MAJ:MIN ROOT MOUNTPOINT OPTS [OPTIONAL...] - FSTYPE SOURCE SUPEROPTS"
    size_t dash = line.find(" - ");
    if (dash == std::string::npos || line.compare(dash + 3, 8, "cgroup2 ") != 0) continue;
    std::istringstream f(line.substr(0, dash));
    std::string id, parent, dev, root, mountpoint;
    f >> id >> parent >> dev >> root >> mountpoint;
    return mountpoint;  // a mountpoint with spaces is printed escaped (\040): not ours to guess
  }
  return "";
}

CgroupNames::CgroupNames(uint64_t min_rescan_ns) : mount_(cgroup2_mount()), min_rescan_ns_(min_rescan_ns) {}

void CgroupNames::rescan() {
  paths_.clear();
  if (mount_.empty()) return;
  std::error_code ec;
  auto add = [&](const fs::path& dir, const std::string& rel) {
    struct stat st;
    if (::stat(dir.c_str(), &st) == 0) paths_[st.st_ino] = rel;
  };
  add(mount_, "/");
  for (fs::recursive_directory_iterator it(mount_, fs::directory_options::skip_permission_denied, ec), end;
       !ec && it != end; it.increment(ec)) {
    if (!it->is_directory(ec) || it->is_symlink(ec)) continue;
    add(it->path(), "/" + fs::relative(it->path(), mount_, ec).string());
  }
}

std::string CgroupNames::path_of(uint64_t id, uint64_t now_ns) {
  auto it = paths_.find(id);
  if (it != paths_.end()) return it->second;
  if (!scanned_ || now_ns - last_scan_ns_ >= min_rescan_ns_) {
    rescan();
    scanned_ = true;
    last_scan_ns_ = now_ns;
    it = paths_.find(id);
    if (it != paths_.end()) return it->second;
  }
  return "";
}

}  // namespace vmatrace
