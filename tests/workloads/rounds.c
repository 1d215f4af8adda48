/* Rounds of faults a test can count: round r maps a few fresh pages, touches
 * each once between two markers naming r, and logs what getrusage counted in
 * between; then unmaps them and rests REST_MS (default 20). One round, STORM_ROUND, stops
 * itself first (SIGSTOP: a checkpoint for the test) and then touches MIB MiB
 * instead: a fault storm.
 *
 *   rounds LOG ROUNDS [REST_MS [STORM_ROUND MIB]]
 * LOG gets "r minflt majflt" per round. Markers: munmap(ROUND_BEGIN + r pages, 0)
 * and munmap(ROUND_END + r pages, 0), which fail and change nothing. */
#define _GNU_SOURCE
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define PG 4096UL
#define ROUND_BEGIN 0x100000000000UL
#define ROUND_END 0x200000000000UL

int main(int argc, char** argv) {
  if (argc < 3) {
    fprintf(stderr, "usage: %s LOG ROUNDS [REST_MS [STORM_ROUND MIB]]\n", argv[0]);
    return 2;
  }
  FILE* log = fopen(argv[1], "w");
  if (!log) return perror("fopen"), 1;
  long rounds = strtol(argv[2], NULL, 0);
  long rest_ms = argc > 3 ? strtol(argv[3], NULL, 0) : 20;
  long storm_round = argc > 5 ? strtol(argv[4], NULL, 0) : -1;
  unsigned long storm_pages = argc > 5 ? strtoul(argv[5], NULL, 0) << 20 >> 12 : 0;
  struct timespec rest = {0, rest_ms * 1000000L};
  for (long r = 0; r < rounds; r++) {
    unsigned long pages = r == storm_round ? storm_pages : 1 + (unsigned long)r % 5;
    char* p = mmap(NULL, pages * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) return perror("mmap"), 1;
    madvise(p, pages * PG, MADV_NOHUGEPAGE);
    if (r == storm_round) raise(SIGSTOP);
    struct rusage before, after;
    getrusage(RUSAGE_SELF, &before);
    syscall(SYS_munmap, ROUND_BEGIN + r * PG, 0UL);
    for (unsigned long i = 0; i < pages; i++) ((volatile char*)p)[i * PG] = 1;
    syscall(SYS_munmap, ROUND_END + r * PG, 0UL);
    getrusage(RUSAGE_SELF, &after);
    fprintf(log, "%ld %ld %ld\n", r, after.ru_minflt - before.ru_minflt, after.ru_majflt - before.ru_majflt);
    fflush(log);
    munmap(p, pages * PG);
    if (rest_ms > 0) nanosleep(&rest, NULL);
  }
  return 0;
}
