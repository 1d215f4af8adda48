/* Code page-in: writes FILE with one tiny function per page ("mov eax, N;
 * ret"), syncs it and drops its pages from the page cache, maps it read and
 * execute with readahead off (MADV_RANDOM), then calls every page's function:
 * each call's instruction fetch faults its page in from disk. The calls are
 * split between THREADS threads; quiet phases of QUIET_MS around.
 * Prints {"path":..,"size":N,"start":A,"end":B}.
 *   codepage FILE MIB QUIET_MS [THREADS] */
#define _GNU_SOURCE
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "quiet.h"

#define PG 4096UL

struct part {
  char* p;
  size_t from, to;
  unsigned long sum;
};

static void* call_pages(void* arg) {
  struct part* t = arg;
  for (size_t off = t->from; off < t->to; off += PG) t->sum += ((int (*)(void))(t->p + off))();
  return NULL;
}

int main(int argc, char** argv) {
  if (argc < 4) return fprintf(stderr, "usage: %s FILE MIB QUIET_MS [THREADS]\n", argv[0]), 2;
  size_t len = strtoul(argv[2], NULL, 0) << 20;
  long quiet_ms = strtol(argv[3], NULL, 0);
  int threads = argc > 4 ? atoi(argv[4]) : 1;
  if (threads < 1 || threads > 64) return 2;
  int fd = open(argv[1], O_RDWR | O_CREAT | O_EXCL, 0600);
  if (fd < 0) return perror("open"), 1;
  unsigned char page[PG];
  memset(page, 0xcc, sizeof(page));  /* int3 anywhere but the function */
  for (size_t off = 0; off < len; off += PG) {
    unsigned int n = off / PG;
    page[0] = 0xb8;  /* mov eax, imm32 */
    memcpy(page + 1, &n, 4);
    page[5] = 0xc3;  /* ret */
    if (write(fd, page, PG) != (ssize_t)PG) return perror("write"), 1;
  }
  if (fsync(fd) || posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED)) return perror("drop"), 1;
  char* p = mmap(NULL, len, PROT_READ | PROT_EXEC, MAP_PRIVATE, fd, 0);
  if (p == MAP_FAILED) return perror("mmap"), 1;
  madvise(p, len, MADV_RANDOM);
  quiet(quiet_ms);
  long began = now_ms();
  pthread_t tid[64];
  struct part parts[64];
  size_t per = len / threads & ~(PG - 1);
  for (int i = 0; i < threads; i++) {
    parts[i] = (struct part){p, i * per, i == threads - 1 ? len : (i + 1) * per, 0};
    pthread_create(&tid[i], NULL, call_pages, &parts[i]);
  }
  for (int i = 0; i < threads; i++) pthread_join(tid[i], NULL);
  long storm_ms = quiet_after(quiet_ms, began);
  printf("{\"path\":\"%s\",\"size\":%zu,\"start\":%lu,\"end\":%lu,\"storm_ms\":%ld}\n", argv[1], len, (unsigned long)p,
         (unsigned long)p + len, storm_ms);
  return 0;
}
