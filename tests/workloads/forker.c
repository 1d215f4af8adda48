/* Forks a child that maps and touches PAGES pages and exits with status 7.
 * Prints {"child":PID,"start":ADDR} once the child is done. */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#define PG 4096UL

int main(int argc, char** argv) {
  unsigned long pages = argc > 1 ? strtoul(argv[1], NULL, 0) : 16;
  int pfd[2];
  if (pipe(pfd) != 0) return 1;
  pid_t pid = fork();
  if (pid == 0) {
    char* p = mmap(NULL, pages * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    for (unsigned long i = 0; i < pages; i++) p[i * PG] = 1;
    unsigned long a = (unsigned long)p;
    if (write(pfd[1], &a, sizeof(a)) != sizeof(a)) _exit(1);
    _exit(7);
  }
  unsigned long start = 0;
  if (read(pfd[0], &start, sizeof(start)) != sizeof(start)) return 1;
  int st;
  waitpid(pid, &st, 0);
  printf("{\"child\":%d,\"start\":%lu,\"status\":%d}\n", pid, start, WEXITSTATUS(st));
  return 0;
}
