#include "events/names.h"

#include <gtest/gtest.h>
#include <sys/mman.h>

#include "events/abi.h"
#include "model/maps_format.h"

namespace vmatrace {
namespace {

TEST(Names, ProtAndMapFlags) {
  EXPECT_EQ(format_arg(ArgType::Prot, PROT_READ | PROT_WRITE), "PROT_READ|PROT_WRITE");
  EXPECT_EQ(format_arg(ArgType::Prot, 0), "PROT_NONE");
  EXPECT_EQ(format_arg(ArgType::MapFlags, MAP_PRIVATE | MAP_ANONYMOUS), "MAP_PRIVATE|MAP_ANONYMOUS");
  EXPECT_EQ(format_arg(ArgType::MapFlags, MAP_SHARED | MAP_FIXED), "MAP_SHARED|MAP_FIXED");
  EXPECT_EQ(format_arg(ArgType::MapFlags, MAP_SHARED_VALIDATE), "MAP_SHARED_VALIDATE");
  EXPECT_EQ(format_arg(ArgType::Advice, MADV_DONTNEED), "MADV_DONTNEED");
  EXPECT_EQ(format_arg(ArgType::Advice, 77), "77");
  EXPECT_EQ(format_arg(ArgType::Int, static_cast<uint64_t>(-1)), "-1");
  EXPECT_EQ(format_arg(ArgType::Addr, 0), "NULL");
  EXPECT_EQ(format_arg(ArgType::Prot, 0x100000), "0x100000");
}

TEST(Names, Errors) {
  EXPECT_EQ(errno_name(-12), "-ENOMEM");
  EXPECT_EQ(errno_name(0), "");
  EXPECT_EQ(errno_name(0x7f0000000000), "");
}

TEST(Names, SyscallArgsMatchManPages) {
  EXPECT_STREQ(syscall_name(VT_SC_MREMAP), "mremap");
  ASSERT_EQ(syscall_args(VT_SC_MMAP).size(), 6u);
  EXPECT_STREQ(syscall_args(VT_SC_MMAP)[4].name, "fd");
  EXPECT_STREQ(syscall_args(VT_SC_MREMAP)[4].name, "new_address");
  EXPECT_TRUE(syscall_args(VT_SC_MUNLOCKALL).empty());
  for (uint16_t sc = 1; sc < VT_SC_MAX; sc++) EXPECT_STRNE(syscall_name(sc), "?") << sc;
}

TEST(Names, FaultAccess) {
  EXPECT_STREQ(fault_access(VT_PF_USER), "read");
  EXPECT_STREQ(fault_access(VT_PF_USER | VT_PF_WRITE), "write");
  EXPECT_STREQ(fault_access(VT_PF_USER | VT_PF_INSTR), "exec");
}

TEST(Names, MapsLine) {
  VmaInfo v{0x400000, 0x452000, 0x875 /* r-x, mayshare off */, 0x10, 1234, (254u << 20) | 0,
            VT_PATH_FILE, 0, "/usr/bin/x"};
  EXPECT_EQ(vma_perms(0x1 | 0x2 | 0x80), "rw-s");
  EXPECT_EQ(maps_line(v), "00400000-00452000 r-xp 00010000 fe:00 1234 /usr/bin/x");
  v.path_flags |= VT_PATH_DELETED;
  EXPECT_EQ(vma_file_name(v), "/usr/bin/x (deleted)");
}

}  // namespace
}  // namespace vmatrace
