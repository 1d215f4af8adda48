/* Markers that bracket the part of a workload a test checks: munmap(addr, 0)
 * always fails with EINVAL, changes nothing, and shows up in the trace. */
#ifndef VMATRACE_TEST_MARKERS_H
#define VMATRACE_TEST_MARKERS_H

#include <sys/syscall.h>
#include <unistd.h>

#define MARK_BEGIN 0xdead0000UL
#define MARK_END 0xdeae0000UL

static inline void mark(unsigned long which) { syscall(SYS_munmap, which, 0UL); }

#endif
