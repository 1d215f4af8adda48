/* Maps the same range again and again, each time writing a known number of
 * its pages, then unmapping it:   remaps ROUNDS
 * Round i writes 5 pages if i is even, 7 if odd. A short pause between rounds
 * spreads them over many of the recorder's polls, so that some fall between a
 * poll's drain and its /proc re-read.  Prints {"a": ADDR, "rounds": ROUNDS}. */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <time.h>

#define PG 4096UL

int main(int argc, char** argv) {
  if (argc != 2) return 2;
  int rounds = atoi(argv[1]);
  /* Guard pages around a, so that nothing merges with it. */
  char* area = mmap(NULL, 18 * PG, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (area == MAP_FAILED) return 1;
  char* a = area + PG;
  struct timespec pause = {0, 200 * 1000L};
  for (int r = 0; r < rounds; r++) {
    if (mmap(a, 16 * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0) != a) return 1;
    for (int i = 0; i < (r % 2 ? 7 : 5); i++) a[i * PG] = 1;
    /* Back to the guard's PROT_NONE, not a hole something else could fill. */
    if (mmap(a, 16 * PG, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0) != a) return 1;
    nanosleep(&pause, NULL);
  }
  printf("{\"a\":%lu,\"rounds\":%d}\n", (unsigned long)a, rounds);
  return 0;
}
