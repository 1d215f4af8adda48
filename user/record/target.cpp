#include "record/target.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>

namespace vmatrace {

Result<std::string> read_proc_maps(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/maps");
  if (!in) return make_error("no such process: " + std::to_string(pid));
  std::ostringstream os;
  os << in.rdbuf();
  if (in.bad()) return make_error("cannot read /proc/" + std::to_string(pid) + "/maps");
  return os.str();
}

std::vector<std::string> read_proc_cmdline(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/cmdline");
  std::vector<std::string> out;
  std::string arg;
  while (std::getline(in, arg, '\0')) out.push_back(arg);
  return out;
}

bool process_alive(pid_t pid) {
  if (kill(pid, 0) != 0 && errno == ESRCH) return false;
  // A zombie still answers kill(); its maps are empty.
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string line;
  if (!std::getline(in, line)) return false;
  auto close = line.rfind(')');
  return close != std::string::npos && close + 2 < line.size() && line[close + 2] != 'Z' &&
         line[close + 2] != 'X';
}

namespace {

std::string read_link(const std::string& path) {
  char buf[4096];
  ssize_t n = readlink(path.c_str(), buf, sizeof(buf) - 1);
  return n > 0 ? std::string(buf, static_cast<size_t>(n)) : "";
}

}  // namespace

std::string proc_mapped_path(pid_t pid, uint64_t addr, uint64_t ino) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/maps");
  std::string line;
  while (std::getline(in, line)) {
    unsigned long start, end, inode;
    int name_at = 0;
    if (sscanf(line.c_str(), "%lx-%lx %*s %*s %*s %lu %n", &start, &end, &inode, &name_at) < 3) continue;
    if (addr >= start && addr < end && inode == ino && name_at > 0) return line.substr(static_cast<size_t>(name_at));
  }
  return "";
}

std::string proc_exe(pid_t pid) { return read_link("/proc/" + std::to_string(pid) + "/exe"); }

Result<GatedChild> GatedChild::spawn(const std::vector<std::string>& argv) {
  int gate[2], err[2];
  if (pipe2(gate, O_CLOEXEC) != 0) return make_error(std::string("pipe: ") + strerror(errno));
  if (pipe2(err, O_CLOEXEC) != 0) {
    close(gate[0]);
    close(gate[1]);
    return make_error(std::string("pipe: ") + strerror(errno));
  }
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  pid_t pid = fork();
  if (pid < 0) return make_error(std::string("fork: ") + strerror(errno));
  if (pid == 0) {
    close(gate[1]);
    close(err[0]);
    char c;
    ssize_t n;
    do n = read(gate[0], &c, 1);
    while (n < 0 && errno == EINTR);
    if (n != 1) _exit(127);  // vmatrace gave up before tracing started
    signal(SIGPIPE, SIG_DFL);
    execvp(args[0], args.data());
    int e = errno;
    ssize_t w = write(err[1], &e, sizeof(e));
    (void)w;
    _exit(127);
  }
  close(gate[0]);
  close(err[1]);
  return GatedChild(pid, gate[1], err[0]);
}

GatedChild::GatedChild(GatedChild&& o) noexcept
    : pid_(o.pid_), gate_fd_(o.gate_fd_), error_fd_(o.error_fd_), reaped_(o.reaped_), status_(o.status_) {
  o.pid_ = -1;
  o.gate_fd_ = o.error_fd_ = -1;
}

GatedChild::~GatedChild() {
  if (gate_fd_ >= 0) close(gate_fd_);
  if (error_fd_ >= 0) close(error_fd_);
}

Status GatedChild::release() {
  char c = 1;
  if (write(gate_fd_, &c, 1) != 1) return make_error(std::string("cannot start the command: ") + strerror(errno));
  close(gate_fd_);
  gate_fd_ = -1;
  int e = 0;
  ssize_t n;
  do n = read(error_fd_, &e, sizeof(e));
  while (n < 0 && errno == EINTR);
  close(error_fd_);
  error_fd_ = -1;
  if (n == sizeof(e)) {
    wait();
    return make_error(std::string("cannot run the command: ") + strerror(e));
  }
  return Ok{};
}

void GatedChild::abort() {
  if (gate_fd_ >= 0) {
    close(gate_fd_);  // EOF: the child exits without exec
    gate_fd_ = -1;
  }
  if (pid_ > 0 && !reaped_) wait();
}

bool GatedChild::try_wait(int* code) {
  if (!reaped_) {
    int st;
    pid_t r = waitpid(pid_, &st, WNOHANG);
    if (r != pid_) return false;
    reaped_ = true;
    status_ = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
  }
  *code = status_;
  return true;
}

int GatedChild::wait() {
  while (!reaped_) {
    int st;
    pid_t r = waitpid(pid_, &st, 0);
    if (r == pid_) {
      reaped_ = true;
      status_ = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
    } else if (r < 0 && errno != EINTR) {
      break;
    }
  }
  return status_;
}

}  // namespace vmatrace
