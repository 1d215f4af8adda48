/* Maps two files whose names are hostile bytes — one with a newline that,
 * printed raw, would make a fake event line, one that is not UTF-8 — reads
 * every page of each, then saves a checkpoint: DIR/maps, its /proc/self/maps,
 * and DIR/when, the CLOCK_MONOTONIC ns just after (nothing maps or unmaps in
 * between: the buffers are static, no malloc). Usage: oddnames DIR [ignored...] */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#define PAGES 4

static const char* const kNames[] = {
    "forged\n    0.000001 fault 0x1 ip=0x2 write minor not-present 1.0us",
    "bytes\xff\xfe-not-utf8",
};

static char maps[1 << 20];

static char* map_file(const char* dir, const char* name) {
  char path[4096];
  snprintf(path, sizeof(path), "%s/%s", dir, name);
  int fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0 || ftruncate(fd, PAGES * 4096) != 0) return MAP_FAILED;
  char* p = mmap(NULL, PAGES * 4096, PROT_READ, MAP_PRIVATE, fd, 0);
  close(fd);
  return p;
}

static int save(const char* dir, const char* name, const char* data, size_t size) {
  char path[4096];
  snprintf(path, sizeof(path), "%s/%s", dir, name);
  int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return -1;
  ssize_t n = write(fd, data, size);
  close(fd);
  return n == (ssize_t)size ? 0 : -1;
}

int main(int argc, char** argv) {
  if (argc < 2) return 2;
  const char* dir = argv[1];
  volatile char sink = 0;
  for (int f = 0; f < 2; f++) {
    char* p = map_file(dir, kNames[f]);
    if (p == MAP_FAILED) return 1;
    for (int i = 0; i < PAGES; i++) sink += p[i * 4096];
  }
  int fd = open("/proc/self/maps", O_RDONLY | O_CLOEXEC);
  size_t size = 0;
  for (ssize_t n; fd >= 0 && (n = read(fd, maps + size, sizeof(maps) - size)) > 0;) size += (size_t)n;
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  if (fd >= 0) close(fd);
  char when[32];
  int len = snprintf(when, sizeof(when), "%llu", (unsigned long long)ts.tv_sec * 1000000000ULL + ts.tv_nsec);
  if (save(dir, "maps", maps, size) != 0 || save(dir, "when", when, (size_t)len) != 0) return 1;
  return sink == 1;  /* 0: the files are zeros */
}
