#include "watch/proc_scan.h"

#include <dirent.h>
#include <fcntl.h>
#include <time.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <memory>

namespace vmatrace {
namespace {

constexpr unsigned kPfKthread = 0x00200000;  // include/linux/sched.h

// Reads a small /proc file relative to dirfd; nullopt if gone.
std::optional<std::string> read_small(int dirfd, const char* path) {
  int fd = openat(dirfd, path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return std::nullopt;
  char buf[4096];
  std::string out;
  ssize_t n;
  while ((n = read(fd, buf, sizeof(buf))) > 0) out.append(buf, static_cast<size_t>(n));
  close(fd);
  if (n < 0) return std::nullopt;
  return out;
}

bool parse_u64(std::string_view s, uint64_t* v) {
  if (s.empty()) return false;
  uint64_t x = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
    x = x * 10 + static_cast<uint64_t>(c - '0');
  }
  *v = x;
  return true;
}

long ticks_per_second() {
  static const long hz = sysconf(_SC_CLK_TCK);
  return hz > 0 ? hz : 100;
}

}  // namespace

std::optional<ProcSample> parse_proc_stat(pid_t pid, std::string_view line) {
  // "pid (comm) state ppid ...": comm may hold spaces and parentheses, so it
  // ends at the last ')'.
  size_t open = line.find('('), close = line.rfind(')');
  if (open == std::string_view::npos || close == std::string_view::npos || close < open) return std::nullopt;
  ProcSample s;
  s.pid = pid;
  s.comm = std::string(line.substr(open + 1, close - open - 1));
  // Fields after comm, numbered as in proc(5): 3 state ... 9 flags, 10 minflt,
  // 12 majflt, 22 starttime.
  std::string_view rest = line.substr(close + 1);
  int field = 2;
  uint64_t flags = 0;
  bool have_min = false, have_maj = false, have_start = false;
  size_t i = 0;
  while (i < rest.size() && field < 22) {
    while (i < rest.size() && rest[i] == ' ') i++;
    size_t j = rest.find(' ', i);
    if (j == std::string_view::npos) j = rest.size();
    while (j > i && rest[j - 1] == '\n') j--;
    std::string_view tok = rest.substr(i, j - i);
    field++;
    if (field == 9 && !parse_u64(tok, &flags)) return std::nullopt;
    if (field == 10) have_min = parse_u64(tok, &s.min_flt);
    if (field == 12) have_maj = parse_u64(tok, &s.maj_flt);
    if (field == 22) have_start = parse_u64(tok, &s.start_ticks);
    i = j + 1;
  }
  if (!have_min || !have_maj || !have_start) return std::nullopt;
  s.kernel_thread = flags & kPfKthread;
  return s;
}

void scan_processes(std::vector<ProcSample>* out) {
  out->clear();
  std::unique_ptr<DIR, int (*)(DIR*)> proc(opendir("/proc"), closedir);
  if (!proc) return;
  int procfd = dirfd(proc.get());
  while (dirent* d = readdir(proc.get())) {
    char* end;
    long pid = strtol(d->d_name, &end, 10);
    if (*end || pid <= 0) continue;
    std::string path = std::string(d->d_name) + "/stat";
    auto text = read_small(procfd, path.c_str());
    if (!text) continue;
    auto s = parse_proc_stat(static_cast<pid_t>(pid), *text);
    if (s && !s->kernel_thread) out->push_back(std::move(*s));
  }
}

std::optional<std::string> proc_cgroup_path(pid_t pid) {
  auto read = read_small(AT_FDCWD, ("/proc/" + std::to_string(pid) + "/cgroup").c_str());
  if (!read) return std::nullopt;
  const std::string& text = *read;
  size_t at = text.rfind("0::", 0) == 0 ? 0 : text.find("\n0::");
  if (at == std::string::npos) return std::string();
  if (text[at] == '\n') at++;
  size_t end = text.find('\n', at);
  return text.substr(at + 3, end == std::string::npos ? std::string::npos : end - at - 3);
}

uint64_t ns_to_ticks(uint64_t ns) { return ns / (1000000000ULL / static_cast<uint64_t>(ticks_per_second())); }

uint64_t boot_ticks_now() {
  timespec ts;
  clock_gettime(CLOCK_BOOTTIME, &ts);
  return ns_to_ticks(static_cast<uint64_t>(ts.tv_sec) * 1000000000ULL + static_cast<uint64_t>(ts.tv_nsec));
}

}  // namespace vmatrace
