/* Changes whose snapshots the kernel refuses, then changes after them:
 *     busylock DIR
 * Maps a marker page (its address in DIR/marker) and stops itself (step 1).
 * After SIGCONT one thread flips the protection of 64 populated MiB, holding
 * mmap_lock for writing a while each time, as the other makes mprotect calls
 * that fail at once (unaligned) but are snapshotted all the same: the VMA
 * iterator finds the lock taken and gives up (EBUSY), where it try-locks mmap_lock
 * (kernels before the 2026 per-VMA-lock iterator).
 * Stops (step 2), unmaps the marker, stops (step 3), maps a new page and
 * stops a last time (step 4) before it exits.
 * Each step's number is in DIR/step before its stop. */
#define _GNU_SOURCE
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>

#include "steps.h"

#define PG 4096UL
#define BIG (64UL << 20)
#define FLIPS 32
#define CALLS_PER_FLIP 500 /* bounded: a stopped recorder's ring must hold them */

static char* g_big;
static atomic_int g_flipping = 0, g_flips = 0, g_done = 0;

static void* flipper(void* arg) {
  (void)arg;
  for (int i = 0; i < FLIPS; i++) {
    atomic_store(&g_flipping, 1);
    mprotect(g_big, BIG, i % 2 ? PROT_READ | PROT_WRITE : PROT_READ);
    atomic_store(&g_flipping, 0);
    atomic_fetch_add(&g_flips, 1);
  }
  atomic_store(&g_done, 1);
  return NULL;
}

int main(int argc, char** argv) {
  if (argc != 2) return 2;
  const char* dir = argv[1];
  g_big = mmap(NULL, BIG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  /* Executable: it never merges with the big area, readable or writable. */
  char* marker = mmap(NULL, PG, PROT_READ | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (g_big == MAP_FAILED || marker == MAP_FAILED) return 1;
  /* Small pages, populated: each flip walks 16,384 page table entries. */
  madvise(g_big, BIG, MADV_NOHUGEPAGE);
  memset(g_big, 1, BIG);
  char text[32];
  snprintf(text, sizeof(text), "%lu\n", (unsigned long)marker);
  if (write_text(dir, "marker", text) || stop_at(dir, 1)) return 1;

  pthread_t t;
  if (pthread_create(&t, NULL, flipper, NULL)) return 1;
  while (!atomic_load(&g_done)) {
    int flip = atomic_load(&g_flips);
    if (!atomic_load(&g_flipping)) continue;
    for (int i = 0; i < CALLS_PER_FLIP && atomic_load(&g_flipping); i++) mprotect(marker + 1, PG, PROT_READ);
    while (atomic_load(&g_flips) == flip && !atomic_load(&g_done)) {
    }
  }
  pthread_join(t, NULL);
  if (stop_at(dir, 2) || munmap(marker, PG) || stop_at(dir, 3)) return 1;
  if (mmap(NULL, PG, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0) == MAP_FAILED) return 1;
  return stop_at(dir, 4) ? 1 : 0;
}
