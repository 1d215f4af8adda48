/* Benchmark workloads, timed from inside so that tracer start-up is not counted.
 *   storm faults MIB [ROUNDS [PAUSE_MS]]  touch MIB of fresh 4 KiB pages once each (no
 *       THP), ROUNDS times (each round maps fresh memory), sleeping PAUSE_MS between
 *       rounds (periodic storms; the sleeps are not counted)
 *   storm syscalls N     N rounds of mprotect flips plus mmap/munmap
 *   storm getppid N      N getppid calls: what any other process's syscalls pay
 * Prints one JSON line: {"seconds": S, "ops": N}. */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <time.h>

#define PG 4096UL

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec / 1e9;
}

int main(int argc, char** argv) {
  if (argc != 3 && !((argc == 4 || argc == 5) && !strcmp(argv[1], "faults"))) {
    fprintf(stderr, "usage: %s faults MIB [ROUNDS [PAUSE_MS]] | syscalls N | getppid N\n", argv[0]);
    return 2;
  }
  unsigned long n = strtoul(argv[2], NULL, 0);
  double t0, t1;
  unsigned long ops = 0;
  if (!strcmp(argv[1], "faults")) {
    size_t len = n << 20;
    unsigned long rounds = argc >= 4 ? strtoul(argv[3], NULL, 0) : 1;
    long pause_ms = argc == 5 ? strtol(argv[4], NULL, 0) : 0;
    struct timespec pause = {pause_ms / 1000, (pause_ms % 1000) * 1000000L};
    double spent = 0;
    for (unsigned long r = 0; r < rounds; r++) {
      if (r && pause_ms > 0) nanosleep(&pause, NULL);
      char* p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
      if (p == MAP_FAILED) return perror("mmap"), 1;
      madvise(p, len, MADV_NOHUGEPAGE);
      t0 = now();
      for (size_t off = 0; off < len; off += PG) p[off] = 1;
      spent += now() - t0;
      munmap(p, len);
      ops += len / PG;
    }
    t0 = 0;
    t1 = spent;
  } else if (!strcmp(argv[1], "syscalls")) {
    char* base = mmap(NULL, 16 * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (base == MAP_FAILED) return perror("mmap"), 1;
    t0 = now();
    for (unsigned long i = 0; i < n; i++) {
      mprotect(base + 4 * PG, 4 * PG, PROT_READ);
      mprotect(base + 4 * PG, 4 * PG, PROT_READ | PROT_WRITE);
      void* q = mmap(NULL, PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
      munmap(q, PG);
      ops += 4;
    }
    t1 = now();
  } else if (!strcmp(argv[1], "getppid")) {
    t0 = now();
    for (unsigned long i = 0; i < n; i++) syscall(SYS_getppid);
    t1 = now();
    ops = n;
  } else {
    fprintf(stderr, "unknown mode %s\n", argv[1]);
    return 2;
  }
  printf("{\"seconds\":%.6f,\"ops\":%lu}\n", t1 - t0, ops);
  return 0;
}
