/* Quiet, storm, quiet: a page every 20 ms for QUIET_MS, then storm() touches
 * MIB MiB of fresh pages as fast as it can, then quiet again. Prints where the
 * storm's mapping is.   stormy MIB QUIET_MS */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <time.h>

#include "quiet.h"

#define PG 4096UL

/* O0: GCC drops the frame pointer of leaf functions even with
 * -fno-omit-frame-pointer, and --stacks walks frame pointers. */
__attribute__((noinline, optimize("O0"))) void storm(char* p, size_t len) {
  for (size_t off = 0; off < len; off += PG) p[off] = 1;
}

int main(int argc, char** argv) {
  size_t len = (argc > 1 ? strtoul(argv[1], NULL, 0) : 64) << 20;
  long quiet_ms = argc > 2 ? strtol(argv[2], NULL, 0) : 600;
  char* area = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  madvise(area, len, MADV_NOHUGEPAGE);
  quiet(quiet_ms);
  long began = now_ms();
  storm(area, len);
  long storm_ms = quiet_after(quiet_ms, began);
  printf("{\"start\":%lu,\"end\":%lu,\"storm_ms\":%ld}\n", (unsigned long)area, (unsigned long)area + len, storm_ms);
  return 0;
}
