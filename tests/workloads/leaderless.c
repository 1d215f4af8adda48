/* A process whose leader thread has exited (pthread_exit) while a worker runs
 * on. On each SIGUSR1 the worker maps PAGES pages, writes each, unmaps them,
 * between markers, then appends "faults N\n" to argv[1]: the minor and major
 * faults the kernel counted for it in that span (getrusage RUSAGE_THREAD). */
#define _GNU_SOURCE
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <sys/mman.h>
#include <sys/resource.h>

#include "markers.h"

#define PAGES 64

static const char* report_path;

static long thread_faults(void) {
  struct rusage ru;
  getrusage(RUSAGE_THREAD, &ru);
  return ru.ru_minflt + ru.ru_majflt;
}

/* One round; the first, untraced, warms up the code and stack it runs on. */
static long round_of_faults(void) {
  long before = thread_faults();
  mark(MARK_BEGIN);
  char* p = mmap(NULL, PAGES * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p != MAP_FAILED) {
    for (int i = 0; i < PAGES; i++) p[i * 4096] = 1;
    munmap(p, PAGES * 4096);
  }
  mark(MARK_END);
  return thread_faults() - before;
}

static void report(const char* what, long n) {
  FILE* f = fopen(report_path, "a");
  if (!f) return;
  fprintf(f, "%s %ld\n", what, n);
  fclose(f);
}

static void* worker(void* arg) {
  sigset_t* wanted = arg;
  round_of_faults();
  round_of_faults();
  report("ready", 0);
  for (;;) {
    int sig;
    sigwait(wanted, &sig);
    report("faults", round_of_faults());
  }
  return NULL;
}

int main(int argc, char** argv) {
  if (argc < 2) return 2;
  report_path = argv[1];
  /* Blocked in every thread: the worker takes SIGUSR1 with sigwait. */
  static sigset_t wanted;
  sigemptyset(&wanted);
  sigaddset(&wanted, SIGUSR1);
  pthread_sigmask(SIG_BLOCK, &wanted, NULL);
  pthread_t t;
  if (pthread_create(&t, NULL, worker, &wanted) != 0) return 1;
  pthread_exit(NULL);
}
