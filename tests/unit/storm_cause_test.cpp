// Why faults happened: the rules on their own, then on event sequences as a
// trace holds them (fork, mprotect, a refused access and its retry, a read
// before a write), then whole storms of synthetic traces through read_trace().
#include "analysis/storm_cause.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <set>

#include "analysis/analysis.h"
#include "analysis/cause_tally.h"
#include "analysis/fault_history.h"
#include "events/abi.h"
#include "model/maps_format.h"
#include "report/heatmap_render.h"
#include "output/json_output.h"
#include "output/text_output.h"
#include "report/storm_text.h"
#include "util/escape.h"
#include "cli/report_pass.h"
#include "synthetic_events.h"
#include "temp_trace.h"

namespace vmatrace {
namespace {

std::string storms_text(const Analysis& a) {
  TextOutput out;
  out.storms(a);
  return out.document();
}

nlohmann::ordered_json storms_json(const Analysis& a) {
  JsonOutput out;
  out.storms(a);
  return out.json()["storms"];
}

constexpr uint64_t kPg = 4096, kMs = 1'000'000, kT0 = 1'000'000'000;
constexpr uint32_t kParent = 100, kChild = 101;
constexpr uint64_t kParentMm = 0xa000, kChildMm = 0xb000;
constexpr uint64_t kHeap = 0x7f0000000000, kFile = 0x7f1000000000, kCode = 0x400000, kShared = 0x7f2000000000;
constexpr uint16_t kRead = VT_PF_USER, kWrite = VT_PF_USER | VT_PF_WRITE, kExec = VT_PF_USER | VT_PF_INSTR;
constexpr uint16_t kProtWrite = kWrite | VT_PF_PROT;
constexpr uint64_t kRw = kVmRead | kVmWrite;

// Events of a trace as they come: each applied to the model, then shown to the classifier.
class Trace {
 public:
  Trace() : model(TraceMeta{}), cc(0, kParent, "/bin/app") {}

  std::optional<FaultCause> feed(const Event& e) {
    model.apply(e);
    return cc.on_event(e, model);
  }

  void snapshot(uint32_t pid, uint64_t mm, const std::vector<VmaInfo>& vmas, uint64_t ts, uint16_t reason,
                uint16_t sc = 0, uint64_t lo = 0, uint64_t hi = ~0ULL) {
    for (const Event& e : snapshot_events(pid, ts, mm, lo, hi, vmas, reason, sc)) feed(e);
  }

  // The parent's address space at the start: a heap, a private file mapping,
  // code, shared anonymous memory.
  void seed() {
    snapshot(kParent, kParentMm,
             {anon_vma(kCode, 16, kVmRead | kVmExec), anon_vma(kHeap, 64), file_vma(kFile, 64, kRw, "/data/db"),
              file_vma(kShared, 16, kRw | 0x8 | kVmMayShare, "/dev/zero", VT_PATH_DELETED)},
             0, VT_SNAP_SEED);
    code = file_vma(kCode, 16, kVmRead | kVmExec, "/bin/app");
  }

  void fork(uint32_t child, uint64_t child_mm, uint64_t ts) {
    feed(fork_event(kParent, ts, child, child_mm));
    if (child_mm != kParentMm) snapshot(child, child_mm, {anon_vma(kHeap, 64)}, ts, VT_SNAP_FORK);
  }

  std::optional<FaultCause> fault(uint32_t pid, uint64_t addr, uint16_t ec, uint64_t ts, uint16_t flags = 0) {
    Event f = fault_event(pid, ts, addr, ec, flags);
    f.ip = kCode + 0x10;
    return feed(f);
  }

  void mprotect(uint32_t pid, uint64_t addr, uint64_t len, uint64_t prot, uint64_t ts, int64_t ret = 0) {
    feed(syscall_event(pid, ts, VT_SC_MPROTECT, {addr, len, prot, 0, 0, 0}, ret));
  }

  Model model;
  CauseClassifier cc;
  VmaInfo code;
};

CauseKind kind_of(const std::optional<FaultCause>& c) {
  EXPECT_TRUE(c.has_value());
  return c ? c->kind : CauseKind::NoErrorCode;
}

TEST(CauseRules, EachKindFromTheFactsThatMakeIt) {
  FaultFacts f;
  f.write = true;
  f.private_writable = true;
  EXPECT_EQ(classify(f), CauseKind::FirstTouch) << "not present, anonymous";
  f.file = true;
  EXPECT_EQ(classify(f), CauseKind::FileCached) << "not present, minor, a file";
  f.major = true;
  EXPECT_EQ(classify(f), CauseKind::PageCacheMiss);
  f.file = false;
  EXPECT_EQ(classify(f), CauseKind::SwapIn);
  f = {};
  f.exec = f.file = true;
  EXPECT_EQ(classify(f), CauseKind::CodePageIn);
  f.major = true;
  EXPECT_EQ(classify(f), CauseKind::CodePageIn) << "a major instruction fetch is code from disk";
  f = {};
  f.protection = f.write = f.private_writable = f.forked = true;
  EXPECT_EQ(classify(f), CauseKind::CowAfterFork);
  f.private_writable = false;
  EXPECT_EQ(classify(f), CauseKind::UnexplainedProtection) << "a shared page is never copied";
  f.protected_recently = true;
  EXPECT_EQ(classify(f), CauseKind::ProtectionChange);
  f = {};
  f.protection = f.write = f.private_writable = true;
  EXPECT_EQ(classify(f), CauseKind::UnexplainedProtection) << "no fork, no mprotect, no read before";
  f.read_before = true;
  EXPECT_EQ(classify(f), CauseKind::FirstTouch) << "the zero page, copied on the first write";
  f.file = true;
  EXPECT_EQ(classify(f), CauseKind::FileCached) << "a private file page, copied from the page cache";
  f = {};
  f.refused_then_protected = true;
  EXPECT_EQ(classify(f), CauseKind::ProtectionChange) << "whatever the retry looked like";
  f = {};
  f.error_code = false;
  EXPECT_EQ(classify(f), CauseKind::NoErrorCode);
  f.major = true;
  EXPECT_EQ(classify(f), CauseKind::SwapIn) << "major needs no error code";
}

TEST(CauseRules, NamesAreDistinct) {
  std::set<std::string> keys, titles;
  for (size_t i = 0; i < kCauseKinds; i++) {
    keys.insert(cause_key(static_cast<CauseKind>(i)));
    titles.insert(cause_title(static_cast<CauseKind>(i)));
  }
  EXPECT_EQ(keys.size(), kCauseKinds);
  EXPECT_EQ(titles.size(), kCauseKinds);
  EXPECT_EQ(keys.count("?"), 0u);
}

TEST(RecentProtects, TheLatestCallOverEachPageWhileRecent) {
  RecentProtects r(100 * kMs);
  r.add({10 * kMs, 1, 1, VT_SC_MPROTECT, 0x10000, 16 * kPg, 0});
  r.add({20 * kMs, 1, 1, VT_SC_MPROTECT, 0x14000, 2 * kPg + 1, 3});  // rounds up to 3 pages
  const ProtectCall* c = r.covering(0x10000, 30 * kMs);
  ASSERT_NE(c, nullptr);
  EXPECT_EQ(c->prot, 0u);
  c = r.covering(0x16fff, 30 * kMs);
  ASSERT_NE(c, nullptr);
  EXPECT_EQ(c->prot, 3u) << "the later call, over its rounded-up last page";
  c = r.covering(0x17000, 30 * kMs);
  ASSERT_NE(c, nullptr);
  EXPECT_EQ(c->prot, 0u) << "the earlier call still holds past the later one";
  EXPECT_EQ(r.covering(0x20000, 30 * kMs), nullptr) << "past the end";
  EXPECT_EQ(r.covering(0xf000, 30 * kMs), nullptr) << "before the start";
  EXPECT_EQ(r.covering(0x10000, 111 * kMs), nullptr) << "older than the window";
  EXPECT_NE(r.covering(0x14000, 120 * kMs), nullptr);
  EXPECT_EQ(r.covering(0x14000, 5 * kMs), nullptr) << "not yet made";
  EXPECT_EQ(r.size(), 3u);
  r.add({25 * kMs, 1, 1, VT_SC_MPROTECT, 0x10000, 0, 7});
  EXPECT_EQ(r.size(), 3u) << "an empty range covers nothing";
}

TEST(RecentProtects, OldCallsAreForgottenAsNewOnesCome) {
  RecentProtects r(100 * kMs);
  for (uint64_t i = 0; i < 100'000; i++) r.add({i * kMs, 1, 1, VT_SC_MPROTECT, 0x10000 + 2 * i * kPg, kPg, 3});
  EXPECT_LT(r.size(), 3000u);
  EXPECT_NE(r.covering(0x10000 + 2 * 99'999 * kPg, 99'999 * kMs), nullptr);
}

TEST(ReadPages, PagesPerProcessUntilItExecsOrExits) {
  ReadPages p;
  p.add(1, 0x7f0000001234);
  EXPECT_TRUE(p.has(1, 0x7f0000001000));
  EXPECT_FALSE(p.has(1, 0x7f0000002000));
  EXPECT_FALSE(p.has(2, 0x7f0000001000));
  p.add(1, 0x7f0000200000);  // the next 2 MiB region
  EXPECT_TRUE(p.has(1, 0x7f0000200fff));
  EXPECT_TRUE(p.has(1, 0x7f0000001000));
  p.add(2, 0x7f0000005000);
  p.forget(1);
  EXPECT_FALSE(p.has(1, 0x7f0000001000));
  EXPECT_TRUE(p.has(2, 0x7f0000005000));
  p.add(1, 0x7f0000003000);  // after forget, the cached region is not reused
  EXPECT_TRUE(p.has(1, 0x7f0000003000));
  EXPECT_FALSE(p.has(1, 0x7f0000001000));
}

TEST(CauseClassifier, CopyOnWriteNamesTheForkOnBothSides) {
  Trace t;
  t.seed();
  EXPECT_EQ(kind_of(t.fault(kParent, kHeap, kProtWrite, 10)), CauseKind::UnexplainedProtection) << "no fork yet";
  t.fork(kChild, kChildMm, 20);
  auto child = t.fault(kChild, kHeap + kPg, kProtWrite, 30);
  ASSERT_EQ(kind_of(child), CauseKind::CowAfterFork);
  ASSERT_TRUE(child->fork);
  const ForkRecord& f = t.cc.forks()[*child->fork];
  EXPECT_EQ(f.parent, kParent);
  EXPECT_EQ(f.child, kChild);
  EXPECT_EQ(f.ns, 20u);
  EXPECT_EQ(kind_of(t.fault(kParent, kHeap + 2 * kPg, kProtWrite, 40)), CauseKind::CowAfterFork)
      << "the parent's pages are write-protected too";
  EXPECT_EQ(kind_of(t.fault(kChild, kHeap + 3 * kPg, kWrite, 50)), CauseKind::FirstTouch) << "not present";
  const ProcessInfo* p = t.cc.process(kChild);
  ASSERT_NE(p, nullptr);
  EXPECT_EQ(p->parent, kParent);
  EXPECT_EQ(p->command, "/bin/app");

  // exec: a new address space shares nothing.
  t.feed(exec_event(kChild, 60, 0xc000, "/bin/other"));
  t.snapshot(kChild, 0xc000, {anon_vma(kHeap, 64)}, 60, VT_SNAP_EXEC);
  EXPECT_EQ(kind_of(t.fault(kChild, kHeap, kProtWrite, 70)), CauseKind::UnexplainedProtection);
  EXPECT_EQ(t.cc.process(kChild)->command, "/bin/other");
}

TEST(CauseClassifier, ThreadsAndVforkAreNoFork) {
  Trace t;
  t.seed();
  Event th = fork_event(kParent, 0, kParent, kParentMm);
  th.child_tid = 555;
  th.fork_flags = VT_FORK_THREAD;
  t.feed(th);
  t.fork(kChild, kParentMm, 20);  // vfork: the child borrows the parent's space
  EXPECT_EQ(kind_of(t.fault(kParent, kHeap, kProtWrite, 30)), CauseKind::UnexplainedProtection);
  EXPECT_TRUE(t.cc.forks().empty());
}

TEST(CauseClassifier, ARefusedAccessRetriedAfterMprotectIsAProtectionChange) {
  Trace t;
  t.seed();
  t.fault(kParent, kHeap + 5 * kPg, kWrite, 10 * kMs, VT_FAULT_INCOMPLETE);  // SIGSEGV
  t.fault(kParent, 0x7ffff000, kWrite, 10 * kMs + 1);  // the handler's stack, in between
  t.mprotect(kParent, kHeap + 5 * kPg, kPg, 3, 10 * kMs + 2);
  auto c = t.fault(kParent, kHeap + 5 * kPg + 8, kWrite, 10 * kMs + 3);
  ASSERT_EQ(kind_of(c), CauseKind::ProtectionChange);
  EXPECT_TRUE(c->refused);
  ASSERT_TRUE(c->call);
  EXPECT_EQ(c->call->addr, kHeap + 5 * kPg);
  EXPECT_EQ(c->call->prot, 3u);
  EXPECT_EQ(c->call->ns, 10 * kMs + 2);
  // The same page again, later, without a refusal: a page being touched.
  EXPECT_EQ(kind_of(t.fault(kParent, kHeap + 5 * kPg, kWrite, 11 * kMs)), CauseKind::FirstTouch);
  // Refused, retried, but no mprotect behind it (a handler that maps the page some other way).
  t.fault(kParent, kHeap + 9 * kPg, kWrite, 12 * kMs, VT_FAULT_INCOMPLETE);
  EXPECT_EQ(kind_of(t.fault(kParent, kHeap + 9 * kPg, kWrite, 12 * kMs + 5)), CauseKind::FirstTouch);
  // A failed mprotect changed nothing.
  t.fault(kParent, kHeap + 10 * kPg, kWrite, 13 * kMs, VT_FAULT_INCOMPLETE);
  t.mprotect(kParent, kHeap + 10 * kPg, kPg, 3, 13 * kMs + 1, -12);
  EXPECT_EQ(kind_of(t.fault(kParent, kHeap + 10 * kPg, kWrite, 13 * kMs + 5)), CauseKind::FirstTouch);
}

TEST(CauseClassifier, AProtectionFaultJustAfterMprotectIsAProtectionChangeUntilTheWindowEnds) {
  Trace t;
  t.seed();
  t.mprotect(kParent, kHeap, 8 * kPg, 1, 10 * kMs);
  auto c = t.fault(kParent, kHeap + kPg, kProtWrite, 20 * kMs);
  ASSERT_EQ(kind_of(c), CauseKind::ProtectionChange);
  EXPECT_FALSE(c->refused);
  EXPECT_EQ(kind_of(t.fault(kParent, kHeap + kPg, kProtWrite, 10 * kMs + kProtectWindowNs + 1)),
            CauseKind::UnexplainedProtection);
  EXPECT_EQ(kind_of(t.fault(kParent, kHeap + 9 * kPg, kProtWrite, 20 * kMs)), CauseKind::UnexplainedProtection)
      << "outside the call's range";
}

TEST(CauseClassifier, FilesSharedMemoryAndMissingErrorCodes) {
  Trace t;
  t.seed();
  EXPECT_EQ(kind_of(t.fault(kParent, kFile, kRead, 10, VT_FAULT_MAJOR)), CauseKind::PageCacheMiss);
  EXPECT_EQ(kind_of(t.fault(kParent, kFile + kPg, kRead, 11)), CauseKind::FileCached);
  EXPECT_EQ(kind_of(t.fault(kParent, kFile + kPg, kProtWrite, 12)), CauseKind::FileCached)
      << "a private file page copied on write";
  EXPECT_EQ(kind_of(t.fault(kParent, kHeap, kRead, 13, VT_FAULT_MAJOR)), CauseKind::SwapIn);
  EXPECT_EQ(kind_of(t.fault(kParent, kShared, kWrite, 14)), CauseKind::FirstTouch)
      << "/dev/zero (deleted) is anonymous memory";
  EXPECT_EQ(kind_of(t.fault(kParent, kShared, kRead, 15, VT_FAULT_MAJOR)), CauseKind::SwapIn);
  EXPECT_EQ(kind_of(t.fault(kParent, kHeap, 0, 16, VT_FAULT_NO_ENTRY)), CauseKind::NoErrorCode);
  EXPECT_EQ(kind_of(t.fault(kParent, kFile, 0, 17, VT_FAULT_NO_ENTRY | VT_FAULT_MAJOR)), CauseKind::PageCacheMiss);
  EXPECT_EQ(kind_of(t.fault(kParent, 0x1000, kWrite, 18)), CauseKind::FirstTouch) << "outside every VMA";
  // The seed has no file for the code; a snapshot with the file makes it code.
  t.snapshot(kParent, kParentMm, {t.code}, 20, VT_SNAP_SYSCALL, VT_SC_MMAP, kCode, kCode + 16 * kPg - 1);
  EXPECT_EQ(kind_of(t.fault(kParent, kCode, kExec, 21)), CauseKind::CodePageIn);
  EXPECT_EQ(kind_of(t.fault(kParent, kCode + kPg, kExec, 22, VT_FAULT_MAJOR)), CauseKind::CodePageIn);
}

TEST(CauseClassifier, AWriteToAPageFirstReadCopiesTheZeroPage) {
  Trace t;
  t.seed();
  EXPECT_EQ(kind_of(t.fault(kParent, kHeap + 3 * kPg, kRead, 10)), CauseKind::FirstTouch);
  auto c = t.fault(kParent, kHeap + 3 * kPg + 100, kProtWrite, 20);
  ASSERT_EQ(kind_of(c), CauseKind::FirstTouch);
  EXPECT_TRUE(c->after_read);
  EXPECT_EQ(kind_of(t.fault(kParent, kHeap + 4 * kPg, kProtWrite, 30)), CauseKind::UnexplainedProtection)
      << "a page never read";
  // Only the history matters for a fault whose cause nobody wants.
  EXPECT_FALSE(t.cc.on_event(Event{}, t.model, false));
  Event read = fault_event(kParent, 0, kHeap + 6 * kPg, kRead);
  t.model.apply(read);
  EXPECT_FALSE(t.cc.on_event(read, t.model, false));
  EXPECT_TRUE(t.fault(kParent, kHeap + 6 * kPg, kProtWrite, 40)->after_read) << "remembered all the same";
}

TEST(CauseClassifier, AStackWalksNestedFaultLeavesTheErrorCodeWithTheEntry) {
  // --stacks: the walk faults in kernel mode, cutting the pending entry short;
  // the completion then comes without an entry of its own.
  Trace t;
  t.seed();
  t.fault(kParent, kHeap + kPg, kWrite, 10, VT_FAULT_INCOMPLETE);
  t.fault(kParent, 0x3, kRead, 10, VT_FAULT_INCOMPLETE | VT_FAULT_KERNEL);
  auto c = t.fault(kParent, kHeap + kPg, 0, 11, VT_FAULT_NO_ENTRY);
  EXPECT_EQ(kind_of(c), CauseKind::FirstTouch);
  EXPECT_FALSE(c->refused);
}

TEST(VmaOrigin, PiecesKeepWhatMappedThemNewMemoryIsTheChanges) {
  Trace t;
  t.seed();
  const uint64_t a = 0x7f3000000000;
  t.snapshot(kParent, kParentMm, {anon_vma(a, 16)}, 5, VT_SNAP_SYSCALL, VT_SC_MMAP, a, a + 16 * kPg - 1);
  // mprotect splits it in three.
  t.snapshot(kParent, kParentMm, {anon_vma(a, 4), anon_vma(a + 4 * kPg, 4, kVmRead), anon_vma(a + 8 * kPg, 8)}, 9,
             VT_SNAP_SYSCALL, VT_SC_MPROTECT, a, a + 16 * kPg - 1);
  // brk grows the heap: new memory, merged with the old.
  t.snapshot(kParent, kParentMm, {anon_vma(kHeap, 80)}, 12, VT_SNAP_SYSCALL, VT_SC_BRK, kHeap, kHeap + 80 * kPg - 1);
  auto at = [&](uint64_t addr) { return t.model.lifetimes()[*t.model.lifetime_at(kParent, addr)].origin; };
  for (uint64_t addr : {a, a + 5 * kPg, a + 9 * kPg}) {
    EXPECT_EQ(at(addr).sc, VT_SC_MMAP) << std::hex << addr;
    EXPECT_EQ(at(addr).ns, 5u);
  }
  EXPECT_EQ(at(kHeap).sc, VT_SC_BRK);
  EXPECT_EQ(at(kHeap).ns, 12u);
  EXPECT_EQ(at(kCode).reason, VT_SNAP_SEED);
  // Merged back by mprotect: still the mmap's memory.
  t.snapshot(kParent, kParentMm, {anon_vma(a, 16)}, 20, VT_SNAP_SYSCALL, VT_SC_MPROTECT, a, a + 16 * kPg - 1);
  EXPECT_EQ(at(a + 5 * kPg).sc, VT_SC_MMAP);
}

TEST(CauseTally, SharesProcessesAndEvidence) {
  Trace t;
  t.seed();
  t.fork(kChild, kChildMm, 20);
  CauseTally tally;
  auto add = [&](uint32_t pid, uint64_t addr, uint16_t ec, uint64_t ts) {
    auto c = t.fault(pid, addr, ec, ts);
    ASSERT_TRUE(c);
    tally.add(*c, fault_event(pid, 0, 0, ec), t.model.last_fault_vma(), t.model);
  };
  for (uint64_t i = 0; i < 30; i++) add(kChild, kHeap + i * kPg, kProtWrite, 100 + i);
  for (uint64_t i = 0; i < 10; i++) add(kParent, kFile + i * kPg, kRead, 200 + i);
  EXPECT_EQ(tally.faults(), 40u);
  auto causes = tally.causes(t.cc, nullptr, nullptr);
  ASSERT_EQ(causes.size(), 2u);
  EXPECT_EQ(causes[0].kind, CauseKind::CowAfterFork);
  EXPECT_DOUBLE_EQ(causes[0].share, 0.75);
  EXPECT_EQ(causes[0].pid, kChild);
  EXPECT_EQ(causes[0].parent, kParent);
  EXPECT_EQ(causes[0].write, 30u);
  ASSERT_TRUE(causes[0].fork);
  EXPECT_EQ(causes[0].fork->child, kChild);
  EXPECT_EQ(causes[0].vma.start, kHeap);
  EXPECT_EQ(causes[0].vma.faults, 30u);
  EXPECT_EQ(causes[1].kind, CauseKind::FileCached);
  EXPECT_DOUBLE_EQ(causes[1].share, 0.25);
  EXPECT_EQ(causes[1].read, 10u);
  auto procs = tally.processes(t.cc, 5);
  ASSERT_EQ(procs.size(), 2u);
  EXPECT_EQ(procs[0].pid, kChild);
  EXPECT_EQ(procs[0].faults, 30u);
  EXPECT_EQ(procs[0].parent, kParent);
  EXPECT_EQ(procs[1].pid, kParent);
  EXPECT_EQ(procs[1].command, "/bin/app");

  // Merging two halves gives the whole.
  CauseTally a, b;
  a.merge(tally);
  b.merge(a);
  b.merge(a);
  auto doubled = b.causes(t.cc, nullptr, nullptr);
  ASSERT_EQ(doubled.size(), 2u);
  EXPECT_EQ(doubled[0].faults, 60u);
  EXPECT_DOUBLE_EQ(doubled[0].share, 0.75);
  EXPECT_EQ(b.processes(t.cc, 1)[0].faults, 60u);
}

TEST(CauseTally, AVmaIsNamedAsItWasThoughItsLifetimeFoldedSince) {
  Trace t;
  t.seed();
  const uint64_t a = 0x7f3000000000, b = 0x7f4000000000;
  t.snapshot(kParent, kParentMm, {file_vma(a, 16, kVmRead, "/data/x")}, 5, VT_SNAP_SYSCALL, VT_SC_MMAP, a,
             a + 16 * kPg - 1);
  CauseTally tally;
  for (uint64_t i = 0; i < 10; i++) {
    auto c = t.fault(kParent, a + i * kPg, kRead, 10 + i, VT_FAULT_MAJOR);
    ASSERT_TRUE(c);
    tally.add(*c, fault_event(kParent, 0, 0, 0), t.model.last_fault_vma(), t.model);
  }
  const uint64_t id = t.model.last_fault_vma()->lifetime;
  t.snapshot(kParent, kParentMm, {}, 30, VT_SNAP_SYSCALL, VT_SC_MUNMAP, a, a + 16 * kPg - 1);
  // Churn enough lifetimes for the model to fold the ended one away.
  for (uint64_t i = 0; i <= Lifetimes::kWindow; i++)
    t.snapshot(kParent, kParentMm, {anon_vma(b, 1 + i % 2)}, 40 + i, VT_SNAP_SYSCALL, VT_SC_MMAP, b, b + 2 * kPg - 1);
  ASSERT_EQ(t.model.lifetimes()[id].name, "[folded]");
  auto causes = tally.causes(t.cc, nullptr, nullptr);
  ASSERT_EQ(causes.size(), 1u);
  EXPECT_EQ(causes[0].kind, CauseKind::PageCacheMiss);
  EXPECT_EQ(causes[0].vma.name, "/data/x");
  EXPECT_EQ(causes[0].vma.start, a);
  EXPECT_EQ(causes[0].vma.end, a + 16 * kPg);
  EXPECT_EQ(causes[0].vma.origin.sc, VT_SC_MMAP);
}

TEST(CauseTally, ProtectionChangesCountTheirCallsAndRefusals) {
  Trace t;
  t.seed();
  CauseTally tally;
  for (uint64_t i = 0; i < 8; i++) {
    uint64_t ts = (10 + i) * kMs, page = kHeap + i * kPg;
    t.fault(kParent, page, kWrite, ts, VT_FAULT_INCOMPLETE);
    t.mprotect(kParent, page, kPg, 3, ts + 1);
    auto c = t.fault(kParent, page, kWrite, ts + 2);
    ASSERT_TRUE(c);
    tally.add(*c, fault_event(kParent, 0, 0, 0), t.model.last_fault_vma(), t.model);
  }
  auto causes = tally.causes(t.cc, nullptr, nullptr);
  ASSERT_EQ(causes.size(), 1u);
  EXPECT_EQ(causes[0].kind, CauseKind::ProtectionChange);
  EXPECT_EQ(causes[0].mprotect_calls, 8u);
  EXPECT_EQ(causes[0].refused, 8u);
  ASSERT_TRUE(causes[0].mprotect);
  EXPECT_EQ(causes[0].mprotect->addr, kHeap) << "among calls with one fault each, the first";
  std::string sentence = cause_sentence(causes[0]);
  EXPECT_NE(sentence.find("8 mprotect calls (mprotect(0x7f0000000000, 4096, PROT_READ|PROT_WRITE) at 0.010 s"),
            std::string::npos)
      << sentence;
  EXPECT_NE(sentence.find("8 accesses refused first"), std::string::npos) << sentence;
}

TEST(StormReport, NamesFromTheKernelCannotForgeLines) {
  EXPECT_EQ(escape_text("a\nb"), "a\\012b");
  Cause c;
  c.kind = CauseKind::PageCacheMiss;
  c.faults = c.vma.faults = 5;
  c.pid = 9;
  c.command = "/bin/x\ny";
  c.vma.name = "/data/evil\n  #2 at 0.000 s";
  c.vma.end = 1 << 20;
  std::string s = cause_sentence(c);
  EXPECT_EQ(s.find('\n'), std::string::npos) << s;
  EXPECT_NE(s.find("pid 9 (x\\012y): 5 major faults reading /data/evil\\012  #2"), std::string::npos) << s;
  // The text report escapes each line as a whole.
  Analysis a;
  Storm storm;
  storm.causes = {c};
  a.storms = {storm};
  std::string text = storms_text(a);
  EXPECT_EQ(std::count(text.begin(), text.end(), '\n'), 5) << text;
  EXPECT_NE(text.find("pid 9 (x\\012y): 5 major faults reading /data/evil\\012  #2"), std::string::npos)
      << "escaped once: " << text;
  // Output that must be UTF-8 gets names escaped that way.
  c.vma.name = "/data/\xff";
  EXPECT_NE(cause_sentence(c, false, TextEscape::Utf8).find("/data/\\377"), std::string::npos);
  EXPECT_NE(cause_sentence(c).find("/data/\xff"), std::string::npos) << "as /proc/PID/maps prints it";
}


TEST(StormReport, TheHeatmapsStormShadingEscapesNamesOnceAsUtf8) {
  Cause c;
  c.kind = CauseKind::PageCacheMiss;
  c.faults = c.vma.faults = 5;
  c.share = 1;
  c.pid = 9;
  c.vma.name = "/data/<a>\n\xff";
  c.vma.end = 1 << 20;
  Analysis a;
  Storm storm;
  storm.end_ns = 1'000'000;
  storm.causes = {c};
  a.storms = {storm};
  a.heatmap.to_ns = 2'000'000;
  a.heatmap.columns = 10;
  std::string svg = heatmap_svg(a, TraceMeta{});
  EXPECT_NE(svg.find("reading /data/&lt;a&gt;\\012\\377 (1.0 MiB mapped)</title>"), std::string::npos) << svg;
  EXPECT_NE(svg.find(">page-cache misses 100% in pid 9</text>"), std::string::npos) << svg;
}

// A whole trace through read_trace(): 1 s quiet in the parent; the parent forks
// at 0.9 s; the child maps fresh memory at 0.95 s; from 1 s a 50 ms storm in
// the child: 3,000 copy-on-write faults on the heap and 1,000 first touches
// of the fresh memory, interleaved, every fourth one with a sampled stack
// whose frames come after the storm; quiet again.
class CauseTraceTest : public TempTraceTest {
 protected:
  static constexpr uint64_t kFresh = 0x7f5000000000, kLib = 0x7f6000000000;

  void SetUp() override {
    TempTraceTest::SetUp();
    auto w = TraceWriter::create(path_);
    ASSERT_TRUE(w);
    TraceMeta meta;
    meta.clock_monotonic_ns = kT0;
    meta.target_pid = kParent;
    meta.command = {"/bin/app", "--serve"};
    meta.kernel_release = "6.18.0";
    ASSERT_TRUE((*w)->write_header(meta));
    writer_ = w->get();
    auto snap = [&](uint32_t pid, uint64_t mm, const std::vector<VmaInfo>& vmas, uint64_t ts, uint16_t reason,
                    uint16_t sc, uint64_t lo, uint64_t hi) {
      for (const Event& e : snapshot_events(pid, ts, mm, lo, hi, vmas, reason, sc)) put(e);
    };
    const std::vector<VmaInfo> space = {anon_vma(kCode, 16, kVmRead | kVmExec), anon_vma(kHeap, 4096),
                                        file_vma(kLib, 16, kVmRead | kVmExec, "/nonexistent/libx.so")};
    snap(kParent, kParentMm, space, kT0, VT_SNAP_SEED, 0, 0, ~0ULL);
    auto fault = [&](uint32_t pid, uint64_t ts, uint64_t addr, uint16_t ec, int32_t stack = -1) {
      Event f = fault_event(pid, ts, addr, ec);
      f.ip = kCode + 0x10;
      f.stack_id = stack;
      put(f);
    };
    for (uint64_t i = 0; i < 100; i++) {
      if (i == 90) {
        Event fork = fork_event(kParent, kT0 + 900 * kMs, kChild, kChildMm);
        put(fork);
        snap(kChild, kChildMm, space, fork.ts, VT_SNAP_FORK, 0, 0, ~0ULL);
      }
      if (i == 95)
        snap(kChild, kChildMm, {anon_vma(kFresh, 1024)}, kT0 + 950 * kMs, VT_SNAP_SYSCALL, VT_SC_MMAP, kFresh,
             kFresh + 1024 * kPg - 1);
      fault(kParent, kT0 + i * 10 * kMs, kHeap + i * kPg, kWrite);
    }
    for (uint64_t i = 0; i < 4000; i++) {
      uint64_t ts = kT0 + 1000 * kMs + i * 12'500;
      int32_t stack = i % 4 == 0 ? (i % 8 == 0 ? 7 : 8) : -1;
      if (i % 4 == 3)
        fault(kChild, ts, kFresh + (i / 4) * kPg, kWrite);
      else
        fault(kChild, ts, kHeap + (i - i / 4) * kPg, kProtWrite, stack);
    }
    // Stack 7: the code, called from libx.so; stack 8 differs only in the
    // innermost frame's address: the same chain.
    for (int32_t id : {7, 8}) {
      Event st;
      st.kind = Kind::Stack;
      st.ts = kT0 + 1060 * kMs;
      st.stack_id = id;
      st.stack = {kCode + 0x10 + static_cast<uint64_t>(id), kLib + 0x101, kLib + 0x201, 0x10};
      put(st);
    }
    for (uint64_t i = 0; i < 100; i++) fault(kParent, kT0 + 1060 * kMs + i * 10 * kMs, kHeap + i * kPg, kWrite);
    ASSERT_TRUE((*w)->finish(LostCounts{}));
  }

  void put(const Event& e) {
    if (e.ts >= next_flush_) {
      ASSERT_TRUE(writer_->flush());
      next_flush_ += 100 * kMs;
    }
    ASSERT_TRUE(writer_->append(e));
  }

  TraceWriter* writer_ = nullptr;
  uint64_t next_flush_ = kT0 + 100 * kMs;
};

TEST_F(CauseTraceTest, AMixedStormGetsBothCausesWithTheirSharesAndEvidence) {
  auto pass = read_trace(path_, ReportWants{AnalysisOptions{}});
  ASSERT_TRUE(pass) << pass.error();
  const ReportPass* p = pass->get();
  const Analysis* a = &p->analysis;
  ASSERT_EQ(a->storms.size(), 1u);
  const Storm& s = a->storms[0];
  EXPECT_EQ(s.faults, 4000u);
  ASSERT_EQ(s.causes.size(), 2u);
  const Cause& cow = s.causes[0];
  EXPECT_EQ(cow.kind, CauseKind::CowAfterFork);
  EXPECT_DOUBLE_EQ(cow.share, 0.75);
  EXPECT_EQ(cow.pid, kChild);
  EXPECT_EQ(cow.parent, kParent);
  EXPECT_EQ(cow.command, "/bin/app");
  EXPECT_EQ(cow.vma.start, kHeap);
  EXPECT_EQ(cow.vma.faults, 3000u);
  ASSERT_TRUE(cow.fork);
  EXPECT_EQ(cow.fork->parent, kParent);
  EXPECT_EQ(cow.fork->child, kChild);
  EXPECT_EQ(cow.fork->ns, 900 * kMs);
  // Every fourth fault sampled, the COW ones among them: 1,000, in one chain
  // (innermost first; return addresses looked up at the call before them).
  EXPECT_EQ(cow.stack_faults, 1000u);
  EXPECT_EQ(cow.stack, (std::vector<std::string>{"[anon]", "libx.so+0x100", "libx.so+0x200", "[unknown]"}));
  const Cause& touch = s.causes[1];
  EXPECT_EQ(touch.kind, CauseKind::FirstTouch);
  EXPECT_DOUBLE_EQ(touch.share, 0.25);
  EXPECT_EQ(touch.vma.start, kFresh);
  EXPECT_EQ(touch.vma.origin.sc, VT_SC_MMAP);
  EXPECT_EQ(touch.vma.origin.ns, 950 * kMs);
  EXPECT_TRUE(touch.stack.empty());
  ASSERT_EQ(s.processes.size(), 1u);
  EXPECT_EQ(s.processes[0].pid, kChild);
  EXPECT_EQ(s.processes[0].faults, 4000u);

  // The text leads with the diagnosis; JSON carries the fields.
  std::string text = storms_text(*a);
  EXPECT_NE(text.find("  #1 at 1.000 s for 0.050 s: copy-on-write after fork (75%) in pid 101 (app), forked from 100 "
                      "at 0.900 s: 3000 write faults on present pages of private [anon] 7f0000000000-7f0001000000; "
                      "also first touch 25%\n"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("stack  [anon] <- libx.so+0x100 <- libx.so+0x200 <- [unknown]  (1000 sampled faults)"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("mapped by mmap at 0.950 s"), std::string::npos) << text;
  auto j = storms_json(*a)[0];
  EXPECT_EQ(j["pids"][0]["pid"], kChild);
  EXPECT_EQ(j["pids"][0]["parent"], kParent);
  EXPECT_EQ(j["pids"][0]["command"], "/bin/app");
  EXPECT_EQ(j["cause"][0]["kind"], "cow_after_fork");
  EXPECT_EQ(j["cause"][0]["share"], 0.75);
  EXPECT_EQ(j["cause"][0]["fork"]["child"], kChild);
  EXPECT_EQ(j["cause"][0]["stack"][1], "libx.so+0x100");
  EXPECT_EQ(j["cause"][1]["kind"], "first_touch");
  EXPECT_EQ(j["cause"][1]["vma"]["made_by"]["by"], "mmap");
  EXPECT_EQ(j["cause"][1]["vma"]["made_by"]["at_s"], 0.95);
  EXPECT_EQ(j["diagnosis"], storm_diagnosis(s));
}

}  // namespace
}  // namespace vmatrace
