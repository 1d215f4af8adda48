#include "bpf/tracefs.h"

#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>

namespace vmatrace {
namespace {

bool exists(const std::string& path) {
  struct stat st;
  return stat(path.c_str(), &st) == 0;
}

const char* const kProbe = "/events/syscalls/sys_enter_mmap/id";

}  // namespace

Tracefs::Tracefs() {
  for (const char* dir : {"/sys/kernel/tracing", "/sys/kernel/debug/tracing"}) {
    if (exists(std::string(dir) + kProbe)) {
      events_ = std::string(dir) + "/events";
      return;
    }
  }
  if (geteuid() != 0) return;
  char dir[] = "/tmp/vmatrace-tracefs-XXXXXX";
  if (!mkdtemp(dir)) return;
  if (mount("nodev", dir, "tracefs", MS_NOSUID | MS_NODEV | MS_NOEXEC, nullptr) != 0) {
    rmdir(dir);
    return;
  }
  private_ = dir;
  if (exists(private_ + kProbe)) events_ = private_ + "/events";
}

Tracefs::~Tracefs() {
  if (private_.empty()) return;
  umount2(private_.c_str(), MNT_DETACH);
  rmdir(private_.c_str());
}

long Tracefs::syscall_event_id(const std::string& name) const {
  if (!usable()) return -1;
  std::ifstream in(events_ + "/syscalls/" + name + "/id");
  long id = -1;
  return in >> id ? id : -1;
}

}  // namespace vmatrace
