/* Performs a known sequence of every address-space syscall vmatrace traces,
 * and writes what it did -- each call's name, arguments and result, with the
 * man-page argument names vmatrace uses -- as JSON lines to argv[1].
 * Raw syscall() and no allocation between the markers, so that nothing but
 * these calls happens there. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/shm.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "markers.h"

#ifndef SYS_mseal
#define SYS_mseal 462
#endif
#ifndef PR_SET_VMA
#define PR_SET_VMA 0x53564d41
#endif

static char logbuf[1 << 16];
static size_t logpos;

static long rec(const char* name, long nr, int nargs, const char* const* names, ...) {
  unsigned long a[6] = {0};
  va_list ap;
  va_start(ap, names);
  for (int i = 0; i < nargs; i++) a[i] = va_arg(ap, unsigned long);
  va_end(ap);
  long ret = syscall(nr, a[0], a[1], a[2], a[3], a[4], a[5]);
  if (ret == -1) ret = -errno;
  logpos += snprintf(logbuf + logpos, sizeof(logbuf) - logpos, "{\"kind\":\"%s\"", name);
  for (int i = 0; i < nargs; i++) {
    /* fd, pkey and shmid are ints: vmatrace prints them signed. */
    int is_int = !strcmp(names[i], "fd") || !strcmp(names[i], "pkey") || !strcmp(names[i], "shmid");
    if (is_int)
      logpos += snprintf(logbuf + logpos, sizeof(logbuf) - logpos, ",\"%s\":%d", names[i], (int)a[i]);
    else
      logpos += snprintf(logbuf + logpos, sizeof(logbuf) - logpos, ",\"%s\":%lu", names[i], a[i]);
  }
  logpos += snprintf(logbuf + logpos, sizeof(logbuf) - logpos, ",\"ret\":%ld}\n", ret);
  return ret;
}

static const char* const MMAP[] = {"addr", "length", "prot", "flags", "fd", "offset"};
static const char* const ADDR_LEN[] = {"addr", "length"};
static const char* const ADDR_LEN2[] = {"addr", "len"};
static const char* const MPROT[] = {"addr", "len", "prot"};
static const char* const PKEY[] = {"addr", "len", "prot", "pkey"};
static const char* const MREMAP[] = {"old_address", "old_size", "new_size", "flags", "new_address"};
static const char* const MADV[] = {"addr", "length", "advice"};
static const char* const MLOCK2[] = {"addr", "len", "flags"};
static const char* const FLAGS[] = {"flags"};
static const char* const BRK[] = {"addr"};
static const char* const SHMAT[] = {"shmid", "shmaddr", "shmflg"};
static const char* const SHMDT[] = {"shmaddr"};
static const char* const PRCTL[] = {"option", "arg2", "arg3", "arg4", "arg5"};
static const char* const MSEAL[] = {"addr", "len", "flags"};

#define PG 4096UL

int main(int argc, char** argv) {
  if (argc != 3) {
    fprintf(stderr, "usage: %s LOGFILE DATAFILE\n", argv[0]);
    return 2;
  }
  int fd = open(argv[2], O_RDWR | O_CREAT | O_TRUNC, 0600);
  if (fd < 0 || ftruncate(fd, 8 * PG) != 0) return perror("datafile"), 1;
  int shmid = shmget(IPC_PRIVATE, 4 * PG, IPC_CREAT | 0600);
  static const char name[] = "vmatrace-test";
  long cur_brk = syscall(SYS_brk, 0);

  mark(MARK_BEGIN);
  long a = rec("mmap", SYS_mmap, 6, MMAP, 0UL, 16 * PG, (unsigned long)(PROT_READ | PROT_WRITE),
               (unsigned long)(MAP_PRIVATE | MAP_ANONYMOUS), -1UL, 0UL);
  rec("mprotect", SYS_mprotect, 3, MPROT, a + 4 * PG, 2 * PG, (unsigned long)PROT_READ);
  rec("pkey_mprotect", SYS_pkey_mprotect, 4, PKEY, a + 8 * PG, PG, (unsigned long)PROT_NONE, -1UL);
  rec("madvise", SYS_madvise, 3, MADV, a, 4 * PG, (unsigned long)MADV_NOHUGEPAGE);
  rec("madvise", SYS_madvise, 3, MADV, a, 4 * PG, (unsigned long)MADV_DONTNEED);
  rec("mlock", SYS_mlock, 2, ADDR_LEN2, a + 12 * PG, PG);
  rec("munlock", SYS_munlock, 2, ADDR_LEN2, a + 12 * PG, PG);
  rec("mlock2", SYS_mlock2, 3, MLOCK2, a + 13 * PG, PG, 1UL /* MLOCK_ONFAULT */);
  rec("munlock", SYS_munlock, 2, ADDR_LEN2, a + 13 * PG, PG);
  rec("mlockall", SYS_mlockall, 1, FLAGS, (unsigned long)(MCL_CURRENT | MCL_ONFAULT));
  rec("munlockall", SYS_munlockall, 0, NULL);
  long f = rec("mmap", SYS_mmap, 6, MMAP, 0UL, 4 * PG, (unsigned long)PROT_READ,
               (unsigned long)MAP_SHARED, (unsigned long)fd, 2 * PG);
  rec("mmap", SYS_mmap, 6, MMAP, a + 14 * PG, 2 * PG, (unsigned long)(PROT_READ | PROT_WRITE),
      (unsigned long)(MAP_PRIVATE | MAP_FIXED), (unsigned long)fd, 0UL);
  long m = rec("mremap", SYS_mremap, 5, MREMAP, a, 2 * PG, 32 * PG, (unsigned long)MREMAP_MAYMOVE, 0UL);
  rec("mremap", SYS_mremap, 5, MREMAP, m, 32 * PG, 8 * PG, 0UL, 0UL);
  rec("munmap", SYS_munmap, 2, ADDR_LEN, m + 2 * PG, 2 * PG);
  rec("munmap", SYS_munmap, 2, ADDR_LEN, a + 1, PG);               /* EINVAL: unaligned */
  rec("mprotect", SYS_mprotect, 3, MPROT, 0x1000UL, PG, (unsigned long)PROT_READ); /* ENOMEM */
  rec("brk", SYS_brk, 1, BRK, (unsigned long)cur_brk + 64 * PG);
  rec("brk", SYS_brk, 1, BRK, (unsigned long)cur_brk);
  long s = rec("shmat", SYS_shmat, 3, SHMAT, (unsigned long)shmid, 0UL, 0UL);
  rec("shmdt", SYS_shmdt, 1, SHMDT, (unsigned long)s);
  rec("prctl", SYS_prctl, 5, PRCTL, (unsigned long)PR_SET_VMA, 0UL /* PR_SET_VMA_ANON_NAME */,
      (unsigned long)(a + 12 * PG), PG, (unsigned long)name);
  syscall(SYS_prctl, PR_GET_DUMPABLE, 0, 0, 0, 0); /* not an address-space call: not traced */
  rec("mseal", SYS_mseal, 3, MSEAL, a + 15 * PG, PG, 0UL);
  rec("munmap", SYS_munmap, 2, ADDR_LEN, f, 4 * PG);
  mark(MARK_END);

  shmctl(shmid, IPC_RMID, NULL);
  FILE* out = fopen(argv[1], "w");
  if (!out) return perror("logfile"), 1;
  fwrite(logbuf, 1, logpos, out);
  fclose(out);
  return 0;
}
