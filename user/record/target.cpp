#include "record/target.h"

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/ptrace.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "events/abi.h"
#include "model/maps_format.h"

namespace vmatrace {

namespace {

// The whole of a /proc file, or why not (errno, as open or read gave it).
Result<std::string> read_proc_file(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return make_error("cannot read " + path + ": " + strerror(errno));
  std::string out;
  char buf[65536];
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof(buf));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      int e = errno;
      ::close(fd);
      return make_error("cannot read " + path + ": " + strerror(e));
    }
    if (n == 0) break;
    out.append(buf, static_cast<size_t>(n));
  }
  ::close(fd);
  return out;
}

// The state letter of /proc/.../stat (R, S, Z, ...), 0 if it cannot be read.
char task_state(const std::string& dir) {
  auto stat = read_proc_file(dir + "/stat");
  if (!stat) return 0;
  auto close = stat->rfind(')');
  return close != std::string::npos && close + 2 < stat->size() ? (*stat)[close + 2] : 0;
}

bool is_dead(char state) { return state == 0 || state == 'Z' || state == 'X'; }

// Where /proc shows the address space of process pid: its own directory, or
// — once its leader thread has exited (pthread_exit) while others run: the
// leader is then a zombie without an mm until the last thread goes — the
// directory of one of its live threads. "" once no thread lives.
std::string live_task_dir(pid_t pid) {
  const std::string dir = "/proc/" + std::to_string(pid);
  char leader = task_state(dir);
  if (leader == 0) return "";
  if (!is_dead(leader)) return dir;
  DIR* tasks = opendir((dir + "/task").c_str());
  if (!tasks) return "";
  std::string live;
  while (dirent* ent = readdir(tasks)) {
    if (ent->d_name[0] == '.') continue;
    std::string task = dir + "/task/" + ent->d_name;
    if (!is_dead(task_state(task))) {
      live = task;
      break;
    }
  }
  closedir(tasks);
  return live;
}

std::string no_such_process(pid_t pid) { return "no such process: " + std::to_string(pid); }

}  // namespace

Result<pid_t> process_of(pid_t id) {
  auto status = read_proc_file("/proc/" + std::to_string(id) + "/status");
  if (!status) return make_error(no_such_process(id));
  auto at = status->find("\nTgid:");
  long tgid = at == std::string::npos ? 0 : strtol(status->c_str() + at + 6, nullptr, 10);
  if (tgid <= 0) return make_error("cannot read the process of " + std::to_string(id) + " from /proc");
  if (!process_alive(static_cast<pid_t>(tgid))) return make_error(no_such_process(id));
  return static_cast<pid_t>(tgid);
}

Result<std::string> read_proc_maps(pid_t pid) {
  std::string dir = live_task_dir(pid);
  if (dir.empty()) return make_error(no_such_process(pid));
  return read_proc_file(dir + "/maps");
}

std::vector<std::string> read_proc_cmdline(pid_t pid) {
  std::vector<std::string> out;
  std::string dir = live_task_dir(pid);
  auto text = dir.empty() ? Result<std::string>(make_error("")) : read_proc_file(dir + "/cmdline");
  if (!text) return out;
  // NUL-separated arguments, bytes as they are.
  for (size_t at = 0; at < text->size();) {
    size_t end = text->find('\0', at);
    if (end == std::string::npos) end = text->size();
    out.push_back(text->substr(at, end - at));
    at = end + 1;
  }
  return out;
}

bool process_alive(pid_t pid) { return !live_task_dir(pid).empty(); }

std::string proc_mapped_path(pid_t pid, uint64_t addr, uint64_t ino) {
  auto maps = read_proc_maps(pid);
  if (!maps) return "";
  for (const auto& line : parse_maps(*maps))
    if (addr >= line.vma.start && addr < line.vma.end && line.vma.ino == ino && (line.vma.path_flags & VT_PATH_FILE))
      return line.name;
  return "";
}

std::string proc_exe(pid_t pid) {
  std::string dir = live_task_dir(pid);
  if (dir.empty()) return "";
  char buf[4096];
  ssize_t n = readlink((dir + "/exe").c_str(), buf, sizeof(buf));
  return n > 0 ? std::string(buf, static_cast<size_t>(n)) : "";
}

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
    : pid_(o.pid_),
      gate_fd_(o.gate_fd_),
      error_fd_(o.error_fd_),
      reaped_(o.reaped_),
      status_(o.status_),
      held_(o.held_) {
  o.pid_ = -1;
  o.gate_fd_ = o.error_fd_ = -1;
  o.held_ = false;
}

GatedChild::~GatedChild() {
  resume();
  if (gate_fd_ >= 0) close(gate_fd_);
  if (error_fd_ >= 0) close(error_fd_);
}

Status GatedChild::release(bool hold_at_exec) {
  // Seized only now, when it is about to exec: a signal while vmatrace was
  // loading must not leave it in a signal-delivery stop nobody handles.
  bool seized = hold_at_exec && ptrace(PTRACE_SEIZE, pid_, nullptr, PTRACE_O_TRACEEXEC) == 0;
  char c = 1;
  if (write(gate_fd_, &c, 1) != 1) return make_error(std::string("cannot start the command: ") + strerror(errno));
  close(gate_fd_);
  gate_fd_ = -1;
  if (seized) wait_for_exec_stop();
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

// The exec stop, or the end of a child whose exec failed. Any other stop (a
// signal on the way to exec) ends the hold: detached, the signal delivered.
void GatedChild::wait_for_exec_stop() {
  for (;;) {
    int st;
    pid_t r = waitpid(pid_, &st, 0);
    if (r < 0 && errno == EINTR) continue;
    if (r != pid_) return;
    if (!WIFSTOPPED(st)) return reaped_with(st);
    if (st >> 8 == (SIGTRAP | (PTRACE_EVENT_EXEC << 8))) {
      held_ = true;
      return;
    }
    int sig = st >> 16 ? 0 : WSTOPSIG(st);  // an event stop carries no signal to pass on
    ptrace(PTRACE_DETACH, pid_, nullptr, sig);
    return;
  }
}

void GatedChild::resume() {
  if (!held_) return;
  held_ = false;
  ptrace(PTRACE_DETACH, pid_, nullptr, 0);
}

void GatedChild::reaped_with(int st) {
  reaped_ = true;
  status_ = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
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
    if (r != pid_ || WIFSTOPPED(st)) return false;
    reaped_with(st);
  }
  *code = status_;
  return true;
}

int GatedChild::wait() {
  resume();
  while (!reaped_) {
    int st;
    pid_t r = waitpid(pid_, &st, 0);
    if (r == pid_) {
      if (!WIFSTOPPED(st)) reaped_with(st);
    } else if (r < 0 && errno != EINTR) {
      break;
    }
  }
  return status_;
}

}  // namespace vmatrace
