/* Every kind of VMA change, one step at a time: after each step the process
 * stops itself (SIGSTOP) so that a test can compare /proc/PID/maps with
 * vmatrace's model at that moment.   changes DIR   (DIR: for its files; the
 * number of the step it stopped after is in DIR/step) */
#define _GNU_SOURCE
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/mman.h>
#include <sys/shm.h>
#include <sys/syscall.h>
#include <unistd.h>

#define PG 4096UL
#ifndef SYS_mseal
#define SYS_mseal 462
#endif

/* The test tells one stop from the next by the step number in DIR/step. */
static const char* step_dir;
static int step;

static void checkpoint(void) {
  char path[512];
  snprintf(path, sizeof(path), "%s/step", step_dir);
  FILE* f = fopen(path, "w");
  if (f) {
    fprintf(f, "%d\n", ++step);
    fclose(f);
  }
  raise(SIGSTOP);
}

static int recurse(int depth) {
  volatile char pad[4096];
  pad[0] = (char)depth;
  return depth ? recurse(depth - 1) + pad[0] : 0;
}

static void* idle_thread(void* arg) {
  pause();
  return arg;
}

static int make_file(const char* dir, const char* name, unsigned long pages, char* path_out) {
  snprintf(path_out, 512, "%s/%s", dir, name);
  int fd = open(path_out, O_RDWR | O_CREAT | O_TRUNC, 0600);
  if (fd < 0 || ftruncate(fd, pages * PG) != 0) {
    perror(path_out);
    exit(1);
  }
  return fd;
}

int main(int argc, char** argv) {
  if (argc == 4 && !strcmp(argv[1], "after-exec")) {
    step_dir = argv[2];
    step = atoi(argv[3]);
    checkpoint(); /* the new image */
    return 0;
  }
  if (argc != 2) {
    fprintf(stderr, "usage: %s DIR\n", argv[0]);
    return 2;
  }
  step_dir = argv[1];
  char path[512], path2[512];
  checkpoint(); /* as started */

  char* a = mmap(NULL, 64 * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  for (int i = 0; i < 64; i++) a[i * PG] = 1;
  checkpoint(); /* anonymous mapping, faulted */

  int fd = make_file(argv[1], "data", 32, path);
  char* f = mmap(NULL, 8 * PG, PROT_READ, MAP_PRIVATE, fd, 4 * PG);
  checkpoint(); /* file mapping at an offset */

  mmap(a + 8 * PG, 4 * PG, PROT_READ, MAP_PRIVATE | MAP_FIXED, fd, 0);
  checkpoint(); /* MAP_FIXED file over the middle of the anonymous one */

  munmap(a + 20 * PG, 2 * PG);
  checkpoint(); /* a hole */

  mprotect(a + 30 * PG, 4 * PG, PROT_READ);
  checkpoint(); /* split by mprotect */
  mprotect(a + 30 * PG, 4 * PG, PROT_READ | PROT_WRITE);
  checkpoint(); /* merged back */

  syscall(SYS_pkey_mprotect, a + 40 * PG, PG, PROT_READ, -1);
  checkpoint(); /* pkey_mprotect */

  munmap(a + 60 * PG, 4 * PG);
  char* g = mremap(a + 48 * PG, 12 * PG, 16 * PG, 0);
  checkpoint(); /* mremap grown in place */
  char* m = mremap(a + 44 * PG, 4 * PG, 64 * PG, MREMAP_MAYMOVE);
  checkpoint(); /* mremap moved */
  char* target = mmap(NULL, 8 * PG, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  mremap(m, 4 * PG, 4 * PG, MREMAP_MAYMOVE | MREMAP_FIXED, target + 2 * PG);
  checkpoint(); /* MREMAP_FIXED into the middle of another mapping */
  /* From where nothing is mapped any more: EFAULT, yet kernels before 6.16
   * unmapped the target before they looked at the source. */
  mremap(m, 4 * PG, 4 * PG, MREMAP_MAYMOVE | MREMAP_FIXED, target + 4 * PG);
  checkpoint(); /* a failed MREMAP_FIXED */
  char* d = mremap(a, 4 * PG, 4 * PG, MREMAP_MAYMOVE | MREMAP_DONTUNMAP);
  checkpoint(); /* MREMAP_DONTUNMAP */
  mremap(g, 16 * PG, 2 * PG, 0);
  checkpoint(); /* mremap shrunk */

  char* brk0 = sbrk(0);
  sbrk(64 * PG);
  memset(brk0, 1, 64 * PG);
  checkpoint(); /* brk grown */
  sbrk(-(long)(32 * PG));
  checkpoint(); /* brk shrunk */
  sbrk(100);
  checkpoint(); /* brk moved within a page */

  madvise(a + 24 * PG, 2 * PG, MADV_DONTFORK);
  madvise(a + 36 * PG, 2 * PG, MADV_HUGEPAGE);
  madvise(a + 26 * PG, 2 * PG, MADV_DONTDUMP);
  checkpoint(); /* madvise that changes flags */
  madvise(a + 24 * PG, 2 * PG, MADV_DOFORK);
  madvise(a + 26 * PG, 2 * PG, MADV_DODUMP);
  checkpoint(); /* and back */

  mlock(a + 34 * PG, 2 * PG);
  checkpoint(); /* mlock split */
  munlock(a + 34 * PG, 2 * PG);
  checkpoint(); /* munlock merged */

  char* s = mmap(NULL, 4 * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  syscall(SYS_mseal, s + PG, PG, 0);
  checkpoint(); /* mseal */

  int shmid = shmget(IPC_PRIVATE, 3 * PG, IPC_CREAT | 0600);
  char* shm = shmat(shmid, NULL, 0);
  checkpoint(); /* shmat */
  shmdt(shm);
  shmctl(shmid, IPC_RMID, NULL);
  checkpoint(); /* shmdt */

  int fd2 = make_file(argv[1], "gone", 4, path2);
  mmap(NULL, 4 * PG, PROT_READ | PROT_WRITE, MAP_SHARED, fd2, 0);
  unlink(path2);
  close(fd2);
  checkpoint(); /* a mapped file, deleted */

  int mfd = memfd_create("vmatrace-memfd", 0);
  if (ftruncate(mfd, 2 * PG) == 0) mmap(NULL, 2 * PG, PROT_READ, MAP_SHARED, mfd, 0);
  mmap(NULL, 2 * PG, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  checkpoint(); /* memfd and shared anonymous memory */

  recurse(256);
  checkpoint(); /* stack grown by 1 MiB of recursion */

  pthread_t t;
  pthread_create(&t, NULL, idle_thread, NULL);
  usleep(10000);
  checkpoint(); /* a thread and its stack */

  (void)f;
  (void)d;
  char self[512];
  ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
  if (n <= 0) return 1;
  self[n] = 0;
  char step_arg[16];
  snprintf(step_arg, sizeof(step_arg), "%d", step);
  execl(self, self, "after-exec", argv[1], step_arg, (char*)NULL);
  return 1;
}
