/* Touches known pages of known mappings, including the same address mapped
 * twice in a row, and prints where:   vmafaults FILE
 * {"a": ADDR, "f": ADDR}: a: 16 pages, 5 written; unmapped and mapped again at
 * the same address, 7 written; then split by mprotect of its upper half and
 * page 7 written. f: 64 pages of FILE, 3 read. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <sys/mman.h>
#include <unistd.h>

#define PG 4096UL

int main(int argc, char** argv) {
  if (argc != 2) return 2;
  int fd = open(argv[1], O_RDWR | O_CREAT | O_TRUNC, 0600);
  if (fd < 0 || ftruncate(fd, 64 * PG) != 0) return 1;
  /* Guard pages around a, so that nothing merges with it. */
  char* area = mmap(NULL, 18 * PG, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  char* a = mmap(area + PG, 16 * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
  for (int i = 0; i < 5; i++) a[i * PG] = 1;
  munmap(a, 16 * PG);
  mmap(a, 16 * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
  for (int i = 0; i < 7; i++) a[i * PG] = 2;
  mprotect(a + 8 * PG, 8 * PG, PROT_READ);
  a[7 * PG] = 3;
  volatile char* f = mmap(NULL, 64 * PG, PROT_READ, MAP_PRIVATE, fd, 0);
  unsigned sum = 0;
  /* 20 pages apart: each read is outside the last one's fault-around window. */
  for (int i = 0; i < 3; i++) sum += f[i * 20 * PG];
  printf("{\"a\":%lu,\"f\":%lu,\"sum\":%u}\n", (unsigned long)a, (unsigned long)f, sum);
  return 0;
}
