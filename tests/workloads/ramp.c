/* A fault storm that ramps up, for `vmatrace watch --capture-before`: a
 * warm-up well above its calm and well below a storm, then the storm.
 *
 *   ramp LOG CALM_MS WARM_PAGES STORM_MIB
 *
 * Everything is made of rounds a test can count: round r maps fresh pages,
 * touches each once between two markers naming r, logs "r PHASE minflt
 * majflt" (its own getrusage in between) to LOG and unmaps them. Phases:
 *  - calm: CALM_MS of one-page rounds 20 ms apart;
 *  - warm, until SIGUSR1: pulses of 1 s of WARM_PAGES-page rounds 20 ms
 *    apart and 1.5 s of calm rounds. However long the test lets it run, the
 *    pulses stay the minority of the watch's last 120 polls: the calm stays
 *    the baseline that the warm-up and the storm are judged against;
 *  - storm (STORM_MIB > 0): stops itself (SIGSTOP: a checkpoint for the
 *    test), then rounds of STORM_MIB MiB back to back until the next
 *    SIGUSR1, and 2 more;
 *  - calm, until the next SIGUSR1.
 * Markers: munmap(ROUND_BEGIN + r pages, 0) and munmap(ROUND_END + r pages,
 * 0), which fail and change nothing (as in rounds.c). */
#define _GNU_SOURCE
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "quiet.h"

#define PG 4096UL
#define ROUND_BEGIN 0x100000000000UL
#define ROUND_END 0x200000000000UL

static volatile sig_atomic_t signals;
static FILE* logf_;
static long round_no;

static void on_usr1(int sig) {
  (void)sig;
  signals++;
}

static int run_round(const char* phase, unsigned long pages) {
  char* p = mmap(NULL, pages * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) return perror("mmap"), -1;
  madvise(p, pages * PG, MADV_NOHUGEPAGE);
  struct rusage before, after;
  getrusage(RUSAGE_SELF, &before);
  syscall(SYS_munmap, ROUND_BEGIN + round_no * PG, 0UL);
  for (unsigned long i = 0; i < pages; i++) ((volatile char*)p)[i * PG] = 1;
  syscall(SYS_munmap, ROUND_END + round_no * PG, 0UL);
  getrusage(RUSAGE_SELF, &after);
  fprintf(logf_, "%ld %s %ld %ld\n", round_no, phase, after.ru_minflt - before.ru_minflt,
          after.ru_majflt - before.ru_majflt);
  fflush(logf_);
  munmap(p, pages * PG);
  round_no++;
  return 0;
}

static int paced_rounds(const char* phase, unsigned long pages, long ms, int until_signals) {
  struct timespec rest = {0, 20 * 1000000L};
  long end = now_ms() + ms;
  while ((ms < 0 || now_ms() < end) && (until_signals < 0 || signals < until_signals)) {
    if (run_round(phase, pages)) return -1;
    nanosleep(&rest, NULL);
  }
  return 0;
}

int main(int argc, char** argv) {
  if (argc != 5) {
    fprintf(stderr, "usage: %s LOG CALM_MS WARM_PAGES STORM_MIB\n", argv[0]);
    return 2;
  }
  logf_ = fopen(argv[1], "w");
  if (!logf_) return perror("fopen"), 1;
  long calm_ms = strtol(argv[2], NULL, 0);
  unsigned long warm_pages = strtoul(argv[3], NULL, 0);
  unsigned long storm_pages = strtoul(argv[4], NULL, 0) << 20 >> 12;
  struct sigaction sa = {0};
  sa.sa_handler = on_usr1;
  sigaction(SIGUSR1, &sa, NULL);
  int next = 1;
  if (paced_rounds("calm", 1, calm_ms, -1)) return 1;
  while (signals < next) {
    if (paced_rounds("warm", warm_pages, 1000, next) || paced_rounds("calm", 1, 1500, next)) return 1;
  }
  next++;
  if (storm_pages) {
    raise(SIGSTOP);
    for (long extra = 2; extra > 0;) {
      if (run_round("storm", storm_pages)) return 1;
      if (signals >= next) extra--;
    }
    next++;
  }
  if (paced_rounds("calm", 1, -1, next)) return 1;
  return fclose(logf_) ? 1 : 0;
}
