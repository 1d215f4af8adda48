#include <gtest/gtest.h>

#include <cstddef>
#include <cstring>

#include "events/abi.h"
#include "events/event.h"

namespace vmatrace {
namespace {

template <class T>
T blank(uint16_t kind) {
  T r;
  std::memset(&r, 0, sizeof(r));
  r.hdr.ts = 42;
  r.hdr.pid = 7;
  r.hdr.tid = 8;
  r.hdr.kind = kind;
  r.hdr.size = sizeof(T);
  return r;
}

TEST(Decode, Syscall) {
  auto r = blank<vt_syscall_event>(VT_EV_SYSCALL);
  r.sc = VT_SC_MUNMAP;
  r.ret = -22;
  r.args[0] = 0x1000;
  r.args[1] = 8192;
  auto e = decode_record(&r, sizeof(r));
  ASSERT_TRUE(e);
  EXPECT_EQ(e->kind, Kind::Syscall);
  EXPECT_EQ(e->ts, 42u);
  EXPECT_EQ(e->pid, 7u);
  EXPECT_EQ(e->tid, 8u);
  EXPECT_EQ(e->sc, VT_SC_MUNMAP);
  EXPECT_EQ(e->ret, -22);
  EXPECT_EQ(e->args[1], 8192u);
}

TEST(Decode, FaultFields) {
  auto r = blank<vt_fault_event>(VT_EV_FAULT);
  r.addr = 0xdeadb000;
  r.ip = 0x401000;
  r.latency_ns = 1234;
  r.error_code = VT_PF_WRITE | VT_PF_PROT;
  r.flags = VT_FAULT_MAJOR;
  auto e = decode_record(&r, sizeof(r));
  ASSERT_TRUE(e);
  EXPECT_EQ(e->addr, 0xdeadb000u);
  EXPECT_EQ(e->ip, 0x401000u);
  EXPECT_EQ(e->latency_ns, 1234u);
  EXPECT_EQ(e->error_code, VT_PF_WRITE | VT_PF_PROT);
  EXPECT_EQ(e->fault_flags, VT_FAULT_MAJOR);
}

TEST(Decode, VmaPathIsJoinedRootFirst) {
  auto r = blank<vt_vma_event>(VT_EV_VMA);
  r.start = 0x1000;
  r.end = 0x3000;
  r.path_flags = VT_PATH_FILE;
  const char comps[] = "libc.so.6\0x86_64-linux-gnu\0lib\0usr";
  std::memcpy(r.path, comps, sizeof(comps));
  r.path_len = sizeof(comps);
  auto e = decode_record(&r, sizeof(r));
  ASSERT_TRUE(e);
  EXPECT_EQ(e->vma.path, "/usr/lib/x86_64-linux-gnu/libc.so.6");
}

TEST(Decode, AnonymousVmaHasNoPath) {
  auto r = blank<vt_vma_event>(VT_EV_VMA);
  r.start = 0x1000;
  r.end = 0x2000;
  auto e = decode_record(&r, sizeof(r));
  ASSERT_TRUE(e);
  EXPECT_EQ(e->vma.path, "");
}

TEST(Decode, RejectsShortRecordsOfEveryKind) {
  auto s = blank<vt_syscall_event>(VT_EV_SYSCALL);
  s.sc = VT_SC_MMAP;
  EXPECT_FALSE(decode_record(&s, sizeof(s) - 1));
  auto f = blank<vt_fault_event>(VT_EV_FAULT);
  EXPECT_FALSE(decode_record(&f, sizeof(f) - 1));
  auto v = blank<vt_vma_event>(VT_EV_VMA);
  v.path_len = 10;
  v.hdr.size = offsetof(vt_vma_event, path) + 10;
  EXPECT_TRUE(decode_record(&v, offsetof(vt_vma_event, path) + 10)) << "records end after their path";
  EXPECT_FALSE(decode_record(&v, offsetof(vt_vma_event, path) + 9));
  EXPECT_FALSE(decode_record(&v, offsetof(vt_vma_event, path) - 1));
  auto x = blank<vt_exec_event>(VT_EV_EXEC);
  EXPECT_FALSE(decode_record(&x, sizeof(x) - 1));
  EXPECT_FALSE(decode_record(&x, 3));
}

TEST(Decode, RejectsNonsense) {
  auto s = blank<vt_syscall_event>(VT_EV_SYSCALL);
  s.sc = VT_SC_MAX;  // no such syscall
  EXPECT_FALSE(decode_record(&s, sizeof(s)));
  auto k = blank<vt_fault_event>(VT_EV_FAULT);
  k.hdr.kind = 99;
  EXPECT_FALSE(decode_record(&k, sizeof(k)));
  auto v = blank<vt_vma_event>(VT_EV_VMA);
  v.path_len = VT_PATH_MAX + 1;
  EXPECT_FALSE(decode_record(&v, sizeof(v)));
  auto big = blank<vt_fault_event>(VT_EV_FAULT);
  big.hdr.size = sizeof(big) + 8;  // claims more than was delivered
  EXPECT_FALSE(decode_record(&big, sizeof(big)));
}

// A record is read within the length its header gives, not the buffer's:
// one shorter than its kind's struct is malformed even with bytes after it.
TEST(Decode, RecordsAreReadWithinTheirOwnLength) {
  auto f = blank<vt_fault_event>(VT_EV_FAULT);
  f.hdr.size = sizeof(f) - 8;
  EXPECT_FALSE(decode_record(&f, sizeof(f)));
  auto v = blank<vt_vma_event>(VT_EV_VMA);
  v.path_len = 16;
  v.hdr.size = offsetof(vt_vma_event, path) + 8;  // its path would run past its end
  EXPECT_FALSE(decode_record(&v, sizeof(v)));
}

TEST(Decode, ExecFilenameIsBounded) {
  auto x = blank<vt_exec_event>(VT_EV_EXEC);
  std::memset(x.filename, 'a', sizeof(x.filename));  // no NUL at all
  x.filename_len = 10;
  auto e = decode_record(&x, sizeof(x));
  ASSERT_TRUE(e);
  EXPECT_EQ(e->filename, std::string(10, 'a'));
}

}  // namespace
}  // namespace vmatrace
