/* Protection flips, the way a GC barrier or a lazily committed heap works:
 * MIB MiB reserved PROT_NONE; every access traps (SIGSEGV), the handler makes
 * that page readable and writable with mprotect, and the access is retried.
 * Writes every page once, with quiet phases of QUIET_MS around.
 * Prints {"start":A,"end":B,"pages":N}.
 *   protflip MIB QUIET_MS */
#define _GNU_SOURCE
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include "quiet.h"

#define PG 4096UL

static uintptr_t lo, hi;

static void on_segv(int sig, siginfo_t* si, void* uc) {
  (void)uc;
  uintptr_t page = (uintptr_t)si->si_addr & ~(PG - 1);
  if (page < lo || page >= hi || mprotect((void*)page, PG, PROT_READ | PROT_WRITE)) {
    signal(sig, SIG_DFL);  /* not ours: crash as usual */
    return;
  }
}

int main(int argc, char** argv) {
  if (argc < 3) return fprintf(stderr, "usage: %s MIB QUIET_MS\n", argv[0]), 2;
  size_t len = strtoul(argv[1], NULL, 0) << 20;
  long quiet_ms = strtol(argv[2], NULL, 0);
  char* p = mmap(NULL, len, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (p == MAP_FAILED) return perror("mmap"), 1;
  madvise(p, len, MADV_NOHUGEPAGE);
  lo = (uintptr_t)p;
  hi = lo + len;
  struct sigaction sa = {0};
  sa.sa_sigaction = on_segv;
  sa.sa_flags = SA_SIGINFO;
  sigaction(SIGSEGV, &sa, NULL);
  quiet(quiet_ms);
  long began = now_ms();
  for (size_t off = 0; off < len; off += PG) ((volatile char*)p)[off] = 1;
  long storm_ms = quiet_after(quiet_ms, began);
  printf("{\"start\":%lu,\"end\":%lu,\"pages\":%lu,\"storm_ms\":%ld}\n", (unsigned long)lo, (unsigned long)hi, len / PG,
         storm_ms);
  return 0;
}
