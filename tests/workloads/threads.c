/* Two threads each map and touch their own pages; each reports its tid, its
 * mapping and its own fault count (RUSAGE_THREAD) for exactly that stretch.
 *   threads PAGES   -> one JSON line per thread */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#define PG 4096UL

static unsigned long pages;
static pthread_barrier_t barrier;

struct result {
  long tid;
  unsigned long start, end;
  long minflt;
};

static void* worker(void* arg) {
  struct result* r = arg;
  struct rusage before, after;
  r->tid = syscall(SYS_gettid);
  getrusage(RUSAGE_THREAD, &before);
  getrusage(RUSAGE_THREAD, &before);
  char* p = mmap(NULL, pages * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  madvise(p, pages * PG, MADV_NOHUGEPAGE);
  pthread_barrier_wait(&barrier); /* both threads fault at the same time */
  for (unsigned long i = 0; i < pages; i++) p[i * PG] = 1;
  getrusage(RUSAGE_THREAD, &after);
  r->start = (unsigned long)p;
  r->end = (unsigned long)p + pages * PG;
  r->minflt = after.ru_minflt - before.ru_minflt;
  return NULL;
}

int main(int argc, char** argv) {
  pages = argc > 1 ? strtoul(argv[1], NULL, 0) : 256;
  pthread_t t[2];
  struct result r[2];
  pthread_barrier_init(&barrier, NULL, 2);
  for (int i = 0; i < 2; i++) pthread_create(&t[i], NULL, worker, &r[i]);
  for (int i = 0; i < 2; i++) pthread_join(t[i], NULL);
  for (int i = 0; i < 2; i++)
    printf("{\"tid\":%ld,\"start\":%lu,\"end\":%lu,\"minflt\":%ld}\n", r[i].tid, r[i].start, r[i].end,
           r[i].minflt);
  return 0;
}
