#include "bpf/tracefs.h"

#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

namespace vmatrace {
namespace {

bool exists(const std::string& path) {
  struct stat st;
  return stat(path.c_str(), &st) == 0;
}

const char* const kTracefs = "/sys/kernel/tracing";
const char* const kProbe = "/events/syscalls/sys_enter_mmap/id";

}  // namespace

Tracefs::Tracefs() {
  for (const char* dir : {kTracefs, "/sys/kernel/debug/tracing"}) {
    if (exists(std::string(dir) + kProbe)) {
      events_ = std::string(dir) + "/events";
      return;
    }
  }
  if (geteuid() != 0 || !exists(kTracefs)) return;
  if (mount("nodev", kTracefs, "tracefs", MS_NOSUID | MS_NODEV | MS_NOEXEC, nullptr) != 0) return;
  mounted_ = kTracefs;
  if (exists(std::string(kTracefs) + kProbe)) events_ = std::string(kTracefs) + "/events";
}

Tracefs::~Tracefs() {
  if (!mounted_.empty()) umount2(mounted_.c_str(), MNT_DETACH);
}

bool Tracefs::has_syscall_event(const std::string& name) const {
  return usable() && exists(events_ + "/syscalls/" + name + "/id");
}

}  // namespace vmatrace
