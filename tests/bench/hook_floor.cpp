// hook_floor PROGRAM [TGID]: attaches one of hook_floor.bpf.c's programs
// (empty, tgid_test) and holds it until SIGINT or SIGTERM. Prints "attached"
// once it is; scripts/bench.sh waits for that line.
#include <bpf/libbpf.h>
#include <signal.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>

#include "hook_floor.skel.h"

namespace {

struct SkeletonDeleter {
  void operator()(hook_floor_bpf* s) const { hook_floor_bpf__destroy(s); }
};

int fail(const char* what) {
  std::fprintf(stderr, "hook_floor: %s: %s\n", what, std::strerror(errno));
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2 || argc > 3 || (std::strcmp(argv[1], "empty") && std::strcmp(argv[1], "tgid_test"))) {
    std::fprintf(stderr, "usage: hook_floor {empty|tgid_test} [TGID]\n");
    return 2;
  }
  sigset_t stop;
  sigemptyset(&stop);
  sigaddset(&stop, SIGINT);
  sigaddset(&stop, SIGTERM);
  sigprocmask(SIG_BLOCK, &stop, nullptr);  // before attaching: a signal now ends the wait below

  std::unique_ptr<hook_floor_bpf, SkeletonDeleter> skel(hook_floor_bpf__open());
  if (!skel) return fail("open");
  skel->rodata->target_tgid = argc == 3 ? static_cast<__u32>(std::strtoul(argv[2], nullptr, 10)) : 0;
  bool empty = !std::strcmp(argv[1], "empty");
  bpf_program__set_autoload(empty ? skel->progs.tgid_test : skel->progs.empty, false);
  if (hook_floor_bpf__load(skel.get())) return fail("load");
  if (hook_floor_bpf__attach(skel.get())) return fail("attach");
  std::printf("attached\n");
  std::fflush(stdout);
  int sig;
  sigwait(&stop, &sig);
  return 0;
}
