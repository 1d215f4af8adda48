/* Thousands of short-lived processes: forks N children one after another,
 * each touching PAGES fresh pages and exiting.   spawner N PAGES
 * Prints {"minflt","majflt"}: its own and its children's, from getrusage. */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#define PG 4096UL

int main(int argc, char** argv) {
  if (argc != 3) {
    fprintf(stderr, "usage: %s N PAGES\n", argv[0]);
    return 2;
  }
  long n = strtol(argv[1], NULL, 0);
  unsigned long pages = strtoul(argv[2], NULL, 0);
  for (long i = 0; i < n; i++) {
    pid_t pid = fork();
    if (pid < 0) return perror("fork"), 1;
    if (pid == 0) {
      char* p = mmap(NULL, pages * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
      for (unsigned long j = 0; j < pages; j++) p[j * PG] = 1;
      _exit(0);
    }
    if (waitpid(pid, NULL, 0) != pid) return perror("waitpid"), 1;
  }
  struct rusage self, kids;
  getrusage(RUSAGE_SELF, &self);
  getrusage(RUSAGE_CHILDREN, &kids);
  printf("{\"minflt\":%ld,\"majflt\":%ld}\n", self.ru_minflt + kids.ru_minflt, self.ru_majflt + kids.ru_majflt);
  return 0;
}
