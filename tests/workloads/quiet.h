/* The calm around a storm: one fresh page touched every 20 ms, so that the
 * trace's typical 10 ms bin holds at most one fault and a storm stands out. */
#ifndef VMATRACE_TEST_QUIET_H
#define VMATRACE_TEST_QUIET_H

#include <sys/mman.h>
#include <time.h>

static inline long now_ms(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

static inline void quiet(long ms) {
  /* The clock's first read faults in the vDSO's data page: here, in the
   * calm, not when quiet_after() reads it right after a storm. */
  (void)now_ms();
  struct timespec pause = {0, 20 * 1000000L};
  for (long t = 0; t < ms; t += 20) {
    char* p = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) return;
    p[0] = 1;
    munmap(p, 4096);
    nanosleep(&pause, NULL);
  }
}

/* The calm after a storm that began at storm_began (now_ms()): at least ms,
 * and three times as long as the storm took, so that most of the trace stays
 * calm (its median bin, the baseline) however slow this machine made the
 * storm: an emulated CPU takes 5-20 times longer. Returns the storm's ms
 * (the workloads print it, for tests to know the rate this machine made). */
static inline long quiet_after(long ms, long storm_began) {
  long took = now_ms() - storm_began;
  quiet(ms > 3 * took ? ms : 3 * took);
  return took;
}

#endif
