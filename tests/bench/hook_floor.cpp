// hook_floor PROGRAM TGID: attaches one of hook_floor.bpf.c's programs for TGID
// and holds it until SIGINT or SIGTERM; prints "attached" once it is
// (scripts/bench.sh waits for that line).
// hook_floor PROGRAM -- COMMAND...: runs COMMAND as the target, the program
// attached before it starts; prints the program's counts to stderr after.
#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>

#include "hook_floor.skel.h"

namespace {

struct SkeletonDeleter {
  void operator()(hook_floor_bpf* s) const { hook_floor_bpf__destroy(s); }
};
using Skeleton = std::unique_ptr<hook_floor_bpf, SkeletonDeleter>;

const char* const kPrograms[] = {"empty", "tgid_test", "lock_hook", "task_work"};

int fail(const char* what) {
  std::fprintf(stderr, "hook_floor: %s: %s\n", what, std::strerror(errno));
  return 1;
}

// Before 6.14 the mmap_lock tracepoints carry a memcg_path argument.
bool lock_tracepoint_has_memcg_path() {
  std::unique_ptr<btf, void (*)(btf*)> vmlinux(btf__load_vmlinux_btf(), btf__free);
  if (!vmlinux) return false;
  int id = btf__find_by_name_kind(vmlinux.get(), "btf_trace_mmap_lock_acquire_returned", BTF_KIND_TYPEDEF);
  if (id <= 0) return false;
  const btf_type* t = btf__type_by_id(vmlinux.get(), btf__resolve_type(vmlinux.get(), id));
  if (t && btf_is_ptr(t)) t = btf__type_by_id(vmlinux.get(), t->type);
  return t && btf_is_func_proto(t) && btf_vlen(t) == 5;
}

Skeleton load(const std::string& program, __u32 tgid) {
  if (program == "lock_hook" || program == "task_work") {
    if (lock_tracepoint_has_memcg_path()) {
      errno = ENOTSUP;  // the programs read 6.14+'s arguments
      return nullptr;
    }
  }
  Skeleton skel(hook_floor_bpf__open());
  if (!skel) return nullptr;
  skel->rodata->target_tgid = tgid;
  bpf_program* p;
  bpf_object__for_each_program(p, skel->obj) bpf_program__set_autoload(p, program == bpf_program__name(p));
  if (program != "task_work") bpf_map__set_autocreate(skel->maps.works, false);
  bpf_map__set_autocreate(skel->maps.least_ring, false);
  if (hook_floor_bpf__load(skel.get()) || hook_floor_bpf__attach(skel.get())) return nullptr;
  return skel;
}

void print_counts(const hook_floor_bpf& skel) {
  const auto* c = skel.bss;
  std::fprintf(stderr,
               "hook_floor: target faults %llu, write locks %llu, task works %llu scheduled, %llu failed, "
               "%llu ran (%llu at a syscall's return)\n",
               static_cast<unsigned long long>(c->target_faults), static_cast<unsigned long long>(c->write_locks),
               static_cast<unsigned long long>(c->works_scheduled), static_cast<unsigned long long>(c->schedule_failed),
               static_cast<unsigned long long>(c->works_ran), static_cast<unsigned long long>(c->syscall_exits));
}

int hold_for(const std::string& program, __u32 tgid) {
  sigset_t stop;
  sigemptyset(&stop);
  sigaddset(&stop, SIGINT);
  sigaddset(&stop, SIGTERM);
  sigprocmask(SIG_BLOCK, &stop, nullptr);  // before attaching: a signal now ends the wait below
  Skeleton skel = load(program, tgid);
  if (!skel) return fail("load and attach");
  std::printf("attached\n");
  std::fflush(stdout);
  int sig;
  sigwait(&stop, &sig);
  return 0;
}

int run_command(const std::string& program, char** command) {
  int go[2];
  if (pipe(go)) return fail("pipe");
  pid_t child = fork();
  if (child < 0) return fail("fork");
  if (child == 0) {
    char byte;
    close(go[1]);
    if (read(go[0], &byte, 1) != 1) _exit(126);  // the parent could not attach
    execvp(command[0], command);
    _exit(127);
  }
  close(go[0]);
  Skeleton skel = load(program, static_cast<__u32>(child));
  if (skel && write(go[1], "x", 1) != 1) skel.reset();
  close(go[1]);
  int status = 0;
  waitpid(child, &status, 0);
  if (!skel) return fail("load and attach");
  print_counts(*skel);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 1;
}

}  // namespace

int main(int argc, char** argv) {
  bool known = argc >= 3 && std::any_of(std::begin(kPrograms), std::end(kPrograms),
                                        [&](const char* p) { return !std::strcmp(argv[1], p); });
  bool command = known && !std::strcmp(argv[2], "--") && argc >= 4;
  if (!known || (!command && argc != 3)) {
    std::fprintf(stderr, "usage: hook_floor {empty|tgid_test|lock_hook|task_work} {TGID | -- COMMAND...}\n");
    return 2;
  }
  if (command) return run_command(argv[1], argv + 3);
  return hold_for(argv[1], static_cast<__u32>(std::strtoul(argv[2], nullptr, 10)));
}
