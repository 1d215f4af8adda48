/* A long-running target for -p tests: maps, touches and unmaps a page every
 * period until killed, so a trace of any window has events in it. */
#define _GNU_SOURCE
#include <stdlib.h>
#include <sys/mman.h>
#include <time.h>

int main(int argc, char** argv) {
  long period_ms = argc > 1 ? strtol(argv[1], NULL, 0) : 10;
  struct timespec ts = {period_ms / 1000, (period_ms % 1000) * 1000000L};
  for (;;) {
    char* p = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p != MAP_FAILED) {
      p[0] = 1;
      munmap(p, 4096);
    }
    nanosleep(&ts, NULL);
  }
}
