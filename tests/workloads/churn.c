/* Random VMA churn until killed: THREADS threads each map, unmap, protect,
 * remap, advise and touch pages in their own arena, so that the VMA set keeps
 * splitting and merging.   churn THREADS [SEED [PAUSE_US]]
 * PAUSE_US: a sleep after every change (default: 100 us every 64th), for an
 * emulated guest whose recorder shares one slow CPU with the threads. */
#define _GNU_SOURCE
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#define PG 4096UL
#define ARENA_PAGES 256

static uint64_t next(uint64_t* s) {
  *s ^= *s << 13;
  *s ^= *s >> 7;
  *s ^= *s << 17;
  return *s;
}

/* Before 6.17 a failed MREMAP_FIXED has already unmapped its destination:
 * holes appear, another thread's mmap(NULL) can land in them and its munmap
 * then takes pages away from under us. A write that finds its page gone is
 * skipped, not fatal. */
static __thread sigjmp_buf touch_failed;
static __thread volatile int touching;

static void on_segv(int sig) {
  if (!touching) {
    signal(sig, SIG_DFL);
    raise(sig);
  }
  siglongjmp(touch_failed, 1);
}

static void touch(char* p) {
  touching = 1;
  if (sigsetjmp(touch_failed, 1) == 0) p[0]++;
  touching = 0;
}

static unsigned long pause_us;

static void* worker(void* arg) {
  uint64_t seed = (uintptr_t)arg * 0x9e3779b97f4a7c15ULL + 1;
  /* Reserve an arena so that MAP_FIXED never lands on someone else's memory. */
  char* arena = mmap(NULL, ARENA_PAGES * PG, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (arena == MAP_FAILED) return NULL;
  static const int prots[] = {PROT_NONE, PROT_READ, PROT_READ | PROT_WRITE};
  static const int advice[] = {MADV_NORMAL, MADV_RANDOM, MADV_SEQUENTIAL, MADV_DONTFORK, MADV_DOFORK,
                               MADV_DONTDUMP, MADV_DODUMP, MADV_DONTNEED};
  for (;;) {
    uint64_t r = next(&seed);
    unsigned long off = (r % (ARENA_PAGES - 16)) * PG;
    unsigned long len = (1 + (r >> 8) % 8) * PG;
    char* p = arena + off;
    switch ((r >> 16) % 7) {
      case 0:
        mmap(p, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
        break;
      case 1:
        mmap(p, len, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED | MAP_NORESERVE, -1, 0);
        break;
      case 2:
        mprotect(p, len, prots[(r >> 24) % 3]);
        break;
      case 3:
        madvise(p, len, advice[(r >> 24) % 8]);
        break;
      case 4: {
        unsigned long to = ((r >> 28) % (ARENA_PAGES - 16)) * PG;
        /* DONTUNMAP leaves no hole that another thread's mmap could land in. */
        if (mremap(p, len, len, MREMAP_MAYMOVE | MREMAP_FIXED | MREMAP_DONTUNMAP, arena + to) == MAP_FAILED)
          mmap(arena + to, len, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED | MAP_NORESERVE, -1, 0);
        break;
      }
      case 5: {
        void* q = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (q != MAP_FAILED) {
          touch(q);
          munmap(q, len);
        }
        break;
      }
      case 6:
        /* Touch a page if it is writable: mincore cannot say, so use the prot we know. */
        if (mprotect(p, PG, PROT_READ | PROT_WRITE) == 0) touch(p);
        break;
    }
    if (pause_us)
      usleep(pause_us);
    else if (r % 64 == 0)
      usleep(100);
  }
  return NULL;
}

int main(int argc, char** argv) {
  int threads = argc > 1 ? atoi(argv[1]) : 1;
  uintptr_t seed = argc > 2 ? strtoul(argv[2], NULL, 0) : 1;
  pause_us = argc > 3 ? strtoul(argv[3], NULL, 0) : 0;
  pthread_t t;
  struct sigaction sa = {.sa_handler = on_segv};
  sigaction(SIGSEGV, &sa, NULL);
  for (int i = 1; i < threads; i++) pthread_create(&t, NULL, worker, (void*)(seed + i));
  worker((void*)seed);
  return 0;
}
