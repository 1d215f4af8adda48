// The process being traced: attaching to a running one, or starting a
// command held at the gate until tracing is ready.
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

#include "util/result.h"

namespace vmatrace {

// A process is traced as a whole (the BPF side keys targets by tgid): the
// process a thread id belongs to, or the process itself; an error if it is
// gone or all its threads are zombies.
Result<pid_t> process_of(pid_t id);
// /proc/PID/maps and cmdline (bytes as they are), read through a live thread
// when the leader thread has exited (pthread_exit) and others still run.
// Errors name the pid, or say why /proc refused (e.g. EACCES).
Result<std::string> read_proc_maps(pid_t pid);
std::vector<std::string> read_proc_cmdline(pid_t pid);
// Some thread of the process is still running (not a zombie).
bool process_alive(pid_t pid);
// What /proc/PID/maps names the file mapping of inode ino around addr (its
// bytes, " (deleted)" included): for kernels where BPF may not read paths.
// "" if it is gone.
std::string proc_mapped_path(pid_t pid, uint64_t addr, uint64_t ino);
std::string proc_exe(pid_t pid);

// A forked child that waits before exec until release() says tracing is on.
class GatedChild {
 public:
  static Result<GatedChild> spawn(const std::vector<std::string>& argv);
  GatedChild(GatedChild&& o) noexcept;
  GatedChild& operator=(GatedChild&&) = delete;
  ~GatedChild();

  pid_t pid() const { return pid_; }
  // Lets the child exec; fails with the exec error if the command cannot run.
  // With hold_at_exec the child stays stopped just after its exec (a ptrace
  // exec stop) until resume(): /proc then shows the new image exactly, before
  // any of its code ran. Where ptrace is refused, the child simply runs.
  Status release(bool hold_at_exec = false);
  bool held() const { return held_; }
  void resume();
  // Kills the child before it ever ran (setup failed).
  void abort();
  // Non-blocking reap; true once exited, with the shell-style status in *code.
  bool try_wait(int* code);
  int wait();  // blocking

 private:
  GatedChild(pid_t pid, int gate_fd, int error_fd) : pid_(pid), gate_fd_(gate_fd), error_fd_(error_fd) {}
  pid_t pid_;
  int gate_fd_;   // write end: one byte releases the child
  int error_fd_;  // read end: errno from a failed exec, EOF on success
  bool reaped_ = false;
  int status_ = 0;
  bool held_ = false;  // in its ptrace exec stop

  void wait_for_exec_stop();
  void reaped_with(int st);
};

}  // namespace vmatrace
