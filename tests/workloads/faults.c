/* Touches known pages and reports the kernel's own fault counts for exactly
 * that stretch (getrusage deltas), so a test can compare vmatrace with them.
 *
 *   faults PAGES [FILE]
 * writes PAGES fresh anonymous pages once each; with FILE, also reads
 * PAGES pages of FILE after dropping them from the page cache (major faults).
 * Prints one JSON line: the ranges and the rusage deltas. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <unistd.h>

#include "markers.h"

#define PG 4096UL

int main(int argc, char** argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: %s PAGES [FILE]\n", argv[0]);
    return 2;
  }
  unsigned long pages = strtoul(argv[1], NULL, 0);
  char* anon = mmap(NULL, pages * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (anon == MAP_FAILED) return perror("mmap"), 1;
  madvise(anon, pages * PG, MADV_NOHUGEPAGE);
  volatile char* file = NULL;
  if (argc > 2) {
    int fd = open(argv[2], O_RDWR | O_CREAT | O_TRUNC, 0600);
    char buf[4096] = {1};
    for (unsigned long i = 0; i < pages; i++)
      if (write(fd, buf, sizeof(buf)) != (ssize_t)sizeof(buf)) return perror("write"), 1;
    fsync(fd);
    posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
    file = mmap(NULL, pages * PG, PROT_READ, MAP_PRIVATE, fd, 0);
    if (file == MAP_FAILED) return perror("mmap file"), 1;
    madvise((void*)file, pages * PG, MADV_RANDOM); /* no readahead: one fault, one read */
  }
  struct rusage before, after;
  /* Warm the path once so the measured stretch faults only on the pages below. */
  getrusage(RUSAGE_SELF, &before);
  mark(MARK_BEGIN);
  mark(MARK_END);
  getrusage(RUSAGE_SELF, &before);

  mark(MARK_BEGIN);
  for (unsigned long i = 0; i < pages; i++) anon[i * PG] = 1;
  unsigned long sum = 0;
  if (file)
    for (unsigned long i = 0; i < pages; i++) sum += file[i * PG];
  mark(MARK_END);
  getrusage(RUSAGE_SELF, &after);

  printf("{\"anon_start\":%lu,\"anon_end\":%lu,\"file_start\":%lu,\"file_end\":%lu,"
         "\"minflt\":%ld,\"majflt\":%ld,\"sum\":%lu}\n",
         (unsigned long)anon, (unsigned long)anon + pages * PG, (unsigned long)file,
         file ? (unsigned long)file + pages * PG : 0UL, after.ru_minflt - before.ru_minflt,
         after.ru_majflt - before.ru_majflt, sum);
  return 0;
}
