/* A burst of changes in one area, then endless changes in another:
 *     lossy DIR
 * Writes the first area's address and size to DIR/area, then stops itself
 * (step 1: the test attaches the recorder and stops it too). After SIGCONT,
 * 64,000 mprotect calls that leave the area's 64 pages in a pattern only the
 * last round's calls make (a stopped recorder loses most of them to a full
 * ring buffer); then it stops itself again (step 2). After the next SIGCONT
 * four threads map, change and unmap pages of a second area without pause
 * (in system calls nearly all the time) until SIGUSR1, so that no re-read of
 * /proc/PID/maps is free of changes.
 * Each step's number is in DIR/step before its stop. */
#define _GNU_SOURCE
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "steps.h"

#define PG 4096UL
#define PAGES 64
#define ROUNDS 1000
#define CHURNERS 4

static volatile sig_atomic_t g_done = 0;
static char* g_churn_area;

static void on_usr1(int sig) {
  (void)sig;
  g_done = 1;
}

/* Round r gives page i one of three protections; neighbours with the same
 * one merge, so the VMA boundaries move from round to round too. The last
 * round's pattern is in no earlier round. */
static int prot_of(int round, int page) {
  static const int prots[] = {PROT_NONE, PROT_READ, PROT_READ | PROT_WRITE};
  if (round == ROUNDS - 1) return page % 4 ? PROT_READ : PROT_READ | PROT_EXEC;
  return prots[((page / 2) + round) % 3];
}

static void* churn(void* arg) {
  char* mine = g_churn_area + (size_t)(long)arg * 8 * PG;
  while (!g_done) {
    if (mmap(mine, 4 * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0) != mine) abort();
    mprotect(mine, PG, PROT_READ);
    if (mmap(mine, 4 * PG, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0) != mine) abort();
  }
  return NULL;
}

int main(int argc, char** argv) {
  if (argc != 2) return 2;
  const char* dir = argv[1];
  signal(SIGUSR1, on_usr1);
  /* A guard page each side, so that nothing merges with the area. */
  char* guarded = mmap(NULL, (PAGES + 2) * PG, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  g_churn_area = mmap(NULL, (CHURNERS * 8 + 1) * PG, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (guarded == MAP_FAILED || g_churn_area == MAP_FAILED) return 1;
  /* Distinct from PROT_NONE guards: the area starts as one writable VMA. */
  char* area = guarded + PG;
  if (mprotect(area, PAGES * PG, PROT_READ | PROT_WRITE | PROT_EXEC)) return 1;
  char text[64];
  snprintf(text, sizeof(text), "%lu %lu\n", (unsigned long)area, PAGES * PG);
  if (write_text(dir, "area", text) || stop_at(dir, 1)) return 1;

  for (int r = 0; r < ROUNDS; r++)
    for (int i = 0; i < PAGES; i++)
      if (mprotect(area + i * PG, PG, prot_of(r, i))) return 1;
  if (stop_at(dir, 2)) return 1;

  pthread_t threads[CHURNERS];
  for (long t = 0; t < CHURNERS; t++)
    if (pthread_create(&threads[t], NULL, churn, (void*)t)) return 1;
  for (int t = 0; t < CHURNERS; t++) pthread_join(threads[t], NULL);
  return 0;
}
