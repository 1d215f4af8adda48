#include <gtest/gtest.h>

#include "bpf/libbpf_log.h"

namespace vmatrace {
namespace {

// What libbpf 1.1 prints when the verifier refuses a program (6.1, seen in
// scripts/test-kernels.sh before vm_private_data was read with BPF_CORE_READ).
const char* kRefusal =
    "libbpf: prog 'on_sys_exit': BPF program load failed: Permission denied\n"
    "prog 'on_sys_exit': -- BEGIN PROG LOAD LOG --\n"
    "reg type unsupported for arg#0 function on_sys_exit#110\n"
    "1757: (79) r1 = *(u64 *)(r8 +120)     ; frame1: R1_w=scalar() cb\n"
    "1758: (79) r3 = *(u64 *)(r1 +0)\n"
    "R1 invalid mem access 'scalar'\n"
    "processed 1701 insns (limit 1000000) max_states_per_insn 1 total_states 29\n"
    "-- END PROG LOAD LOG --\n"
    "libbpf: prog 'on_sys_exit': failed to load: -13\n";

TEST(LibbpfLog, FindsTheRefusedProgramAndTheVerifiersError) {
  std::string text = kRefusal;
  // libbpf's own lines start with "libbpf: " only when printed by us; the
  // callback gets them bare.
  for (size_t at; (at = text.find("libbpf: ")) != std::string::npos;) text.erase(at, 8);
  auto r = parse_program_refusal(text);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->program, "on_sys_exit");
  EXPECT_EQ(r->verifier_error, "R1 invalid mem access 'scalar'");
}

TEST(LibbpfLog, ALogCutBeforeItsSummaryStillGivesItsLastLine) {
  auto r = parse_program_refusal(
      "prog 'on_pf_user': BPF program load failed: Invalid argument\n"
      "prog 'on_pf_user': -- BEGIN PROG LOAD LOG --\n"
      "unknown func bpf_task_storage_get#156\n"
      "-- END PROG LOAD LOG --\n");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->program, "on_pf_user");
  EXPECT_EQ(r->verifier_error, "unknown func bpf_task_storage_get#156");
}

TEST(LibbpfLog, NoRefusalWithoutAFailedLoad) {
  EXPECT_FALSE(parse_program_refusal("libbpf: map 'events': created\n"));
  EXPECT_FALSE(parse_program_refusal(""));
}

TEST(LibbpfLog, AFailureWithoutALogKeepsLibbpfsReason) {
  auto r = parse_program_refusal("prog 'on_exec': BPF program load failed: Argument list too long\n");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->verifier_error, "Argument list too long");
}

}  // namespace
}  // namespace vmatrace
