/* The calm around a storm: one fresh page touched every 20 ms, so that the
 * trace's typical 10 ms bin holds at most one fault and a storm stands out. */
#ifndef VMATRACE_TEST_QUIET_H
#define VMATRACE_TEST_QUIET_H

#include <sys/mman.h>
#include <time.h>

static inline void quiet(long ms) {
  struct timespec pause = {0, 20 * 1000000L};
  for (long t = 0; t < ms; t += 20) {
    char* p = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) return;
    p[0] = 1;
    munmap(p, 4096);
    nanosleep(&pause, NULL);
  }
}

#endif
