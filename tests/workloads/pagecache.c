/* Page-cache misses: writes FILE (MIB MiB), syncs it and drops its pages from
 * the page cache (posix_fadvise DONTNEED), maps it with readahead off
 * (MADV_RANDOM: each fault reads its own page only) and reads one byte of
 * every page, split between THREADS threads: every fault reads from disk.
 * Quiet phases of QUIET_MS before and after. Prints where the file is mapped.
 *   pagecache FILE MIB QUIET_MS [THREADS] */
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
  volatile char* p;
  size_t from, to;
  unsigned long sum;
};

static void* read_pages(void* arg) {
  struct part* t = arg;
  for (size_t off = t->from; off < t->to; off += PG) t->sum += t->p[off];
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
  char* buf = malloc(1 << 20);
  memset(buf, 'x', 1 << 20);
  for (size_t done = 0; done < len; done += 1 << 20)
    if (write(fd, buf, 1 << 20) != 1 << 20) return perror("write"), 1;
  if (fsync(fd) || posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED)) return perror("drop"), 1;
  char* p = mmap(NULL, len, PROT_READ, MAP_SHARED, fd, 0);
  if (p == MAP_FAILED) return perror("mmap"), 1;
  madvise(p, len, MADV_RANDOM);
  quiet(quiet_ms);
  long began = now_ms();
  pthread_t tid[64];
  struct part parts[64];
  size_t per = len / threads & ~(PG - 1);
  for (int i = 0; i < threads; i++) {
    parts[i] = (struct part){p, i * per, i == threads - 1 ? len : (i + 1) * per, 0};
    pthread_create(&tid[i], NULL, read_pages, &parts[i]);
  }
  for (int i = 0; i < threads; i++) pthread_join(tid[i], NULL);
  long storm_ms = quiet_after(quiet_ms, began);
  printf("{\"path\":\"%s\",\"size\":%zu,\"start\":%lu,\"end\":%lu,\"storm_ms\":%ld}\n", argv[1], len, (unsigned long)p,
         (unsigned long)p + len, storm_ms);
  return 0;
}
