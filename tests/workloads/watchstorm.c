/* Fault storms for `vmatrace watch`, between quiet phases (a page every 20 ms):
 *   watchstorm MIB QUIET_MS STORMS ROUNDS OUT
 * Each storm runs storm() over a MIB MiB area ROUNDS times (its pages are
 * dropped between rounds, so every round faults them all again); ROUNDS 0:
 * until the next SIGUSR1, then 2 more rounds. The quiet phase after a storm
 * lasts QUIET_MS plus as long as the storm did, so that however slowly this
 * machine faults (or a capture starts), the storm never becomes the baseline
 * (the median of the watch's last 120 polls) that the next storm is judged
 * against; not three times as long, as quiet_after() makes it for a whole
 * trace's median, which under emulation would outlast the tests' patience.
 * Ends with a quiet phase, then writes {"minflt","majflt","start","end"} (its
 * own getrusage, the area) to OUT, and "main_flt": its faults from main on
 * (those the kernel also sends as page-fault perf events: exec's own, by
 * GUP, are not). */
#define _GNU_SOURCE
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <time.h>

#include "quiet.h"

#define PG 4096UL

static volatile sig_atomic_t signals;

static void on_usr1(int sig) {
  (void)sig;
  signals++;
}

/* O0: the storm's faults are charged to this function by name. */
__attribute__((noinline, optimize("O0"))) void storm(char* p, size_t len) {
  for (size_t off = 0; off < len; off += PG) p[off] = 1;
}

static void storm_rounds(char* area, size_t len, long rounds, int storm_no) {
  long extra = 2;
  for (long r = 0; rounds > 0 ? r < rounds : extra > 0; r++) {
    storm(area, len);
    madvise(area, len, MADV_DONTNEED);
    if (rounds == 0 && signals > storm_no) extra--;
  }
}

int main(int argc, char** argv) {
  if (argc != 6) {
    fprintf(stderr, "usage: %s MIB QUIET_MS STORMS ROUNDS OUT\n", argv[0]);
    return 2;
  }
  size_t len = strtoul(argv[1], NULL, 0) << 20;
  long quiet_ms = strtol(argv[2], NULL, 0);
  int storms = atoi(argv[3]);
  long rounds = strtol(argv[4], NULL, 0);
  struct rusage at_main;
  getrusage(RUSAGE_SELF, &at_main);
  struct sigaction sa = {0};
  sa.sa_handler = on_usr1;
  sigaction(SIGUSR1, &sa, NULL);
  char* area = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (area == MAP_FAILED) return perror("mmap"), 1;
  madvise(area, len, MADV_NOHUGEPAGE);
  quiet(quiet_ms);
  for (int s = 0; s < storms; s++) {
    long began = now_ms();
    storm_rounds(area, len, rounds, s);
    quiet(quiet_ms + (now_ms() - began));
  }
  FILE* out = fopen(argv[5], "w");
  if (!out) return perror("fopen"), 1;
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  fprintf(out, "{\"minflt\":%ld,\"majflt\":%ld,\"main_flt\":%ld,\"start\":%lu,\"end\":%lu}\n", ru.ru_minflt,
          ru.ru_majflt, ru.ru_minflt + ru.ru_majflt - at_main.ru_minflt - at_main.ru_majflt, (unsigned long)area,
          (unsigned long)area + len);
  return fclose(out) ? 1 : 0;
}
