/* Copy-on-write after fork: the parent fills MIB MiB of private anonymous
 * memory (a first-touch storm), forks, and the child rewrites every page (a
 * copy-on-write storm in the child). With FRESH_MIB, the child also maps that
 * much fresh memory and touches it page by page, spread evenly among the
 * rewrites: one storm of two causes. Quiet phases of QUIET_MS between.
 * Prints {"parent":P,"child":C,"fork_child":C,"start":A,"end":B,"fresh_start":..,"fresh_end":..}.
 *   cow_fork MIB QUIET_MS [FRESH_MIB] */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "quiet.h"

#define PG 4096UL

/* O0: GCC drops the frame pointer of leaf functions even with
 * -fno-omit-frame-pointer, and --stacks walks frame pointers. */
__attribute__((noinline, optimize("O0"))) void fill(char* p, size_t len) {
  for (size_t off = 0; off < len; off += PG) p[off] = 1;
}

__attribute__((noinline, optimize("O0"))) void rewrite(char* p, size_t len, char* fresh, size_t fresh_len) {
  size_t pages = len / PG, fresh_pages = fresh_len / PG, j = 0;
  for (size_t i = 0; i < pages; i++) {
    p[i * PG] = 2;
    for (; j * pages < (i + 1) * fresh_pages; j++) fresh[j * PG] = 3;
  }
}

static char* map_anon(size_t len) {
  char* p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) exit(1);
  madvise(p, len, MADV_NOHUGEPAGE);
  return p;
}

int main(int argc, char** argv) {
  if (argc < 3) return fprintf(stderr, "usage: %s MIB QUIET_MS [FRESH_MIB]\n", argv[0]), 2;
  size_t len = strtoul(argv[1], NULL, 0) << 20;
  long quiet_ms = strtol(argv[2], NULL, 0);
  size_t fresh_len = argc > 3 ? strtoul(argv[3], NULL, 0) << 20 : 0;
  char* area = map_anon(len);
  quiet(quiet_ms);
  long began = now_ms();
  fill(area, len);
  long fill_ms = quiet_after(quiet_ms, began);
  int pfd[2];
  if (pipe(pfd)) return 1;
  began = now_ms();
  pid_t child = fork();
  if (child == 0) {
    char* fresh = fresh_len ? map_anon(fresh_len) : NULL;
    rewrite(area, len, fresh, fresh_len);
    unsigned long a[2] = {(unsigned long)fresh, (unsigned long)fresh + fresh_len};
    _exit(write(pfd[1], a, sizeof(a)) == sizeof(a) ? 0 : 1);
  }
  unsigned long fresh_range[2] = {0, 0};
  if (read(pfd[0], fresh_range, sizeof(fresh_range)) != sizeof(fresh_range)) return 1;
  int st;
  waitpid(child, &st, 0);
  long rewrite_ms = quiet_after(quiet_ms, began);
  long storm_ms = fill_ms > rewrite_ms ? fill_ms : rewrite_ms;
  printf("{\"parent\":%d,\"child\":%d,\"start\":%lu,\"end\":%lu,\"fresh_start\":%lu,\"fresh_end\":%lu,"
         "\"storm_ms\":%ld}\n",
         getpid(), child, (unsigned long)area, (unsigned long)area + len, fresh_range[0], fresh_range[1], storm_ms);
  return WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : 1;
}
