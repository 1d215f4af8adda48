#include <gtest/gtest.h>
#include <sys/mman.h>

#include <algorithm>
#include <cerrno>

#include "events/abi.h"
#include "model/maps_format.h"
#include "model/model.h"
#include "model/predict.h"
#include "synthetic_events.h"

namespace vmatrace {
namespace {

constexpr uint64_t kPg = 4096;
constexpr uint32_t kPid = 7;
constexpr uint64_t kMm = 0x1000;

TEST(MapsFormat, PadsNamesToColumn73LikeTheKernel) {
  // Lines as this kernel printed them.
  const std::string text =
      "55eedf745000-55eedf789000 rw-p 00000000 00:00 0                          [heap]\n"
      "7f24c2c1e000-7f24c2c44000 r--p 00000000 fe:00 332835                     /usr/lib/x86_64-linux-gnu/libc.so.6\n"
      "7f24c30bf000-7f24c30c1000 rw-p 00000000 00:00 0 \n"
      "7f24c2b1f000-7f24c2b23000 rw-s 00001000 00:10 1039                       /memfd:x (deleted)\n"
      "ffffffffff600000-ffffffffff601000 --xp 00000000 00:00 0                  [vsyscall]\n";
  std::string again;
  for (const auto& m : parse_maps(text)) again += format_maps_line(m.vma, m.name) + "\n";
  EXPECT_EQ(again, text);
}

TEST(MapsFormat, ParsesFilesDeletedAndSpecialNames) {
  auto lines = parse_maps(
      "00400000-00401000 r-xp 00002000 fe:01 77 /bin/x (deleted)\n"
      "7ffe0ffe0000-7ffe10001000 rw-p 00000000 00:00 0                          [stack]\n");
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(lines[0].vma.path, "/bin/x");
  EXPECT_EQ(lines[0].vma.path_flags, static_cast<uint32_t>(VT_PATH_FILE | VT_PATH_DELETED));
  EXPECT_EQ(lines[0].vma.pgoff, 2u);
  EXPECT_EQ(lines[0].vma.dev, (0xfeu << 20) | 1);
  EXPECT_EQ(lines[0].vma.flags, kVmRead | kVmExec);
  EXPECT_EQ(lines[1].vma.path_flags, static_cast<uint32_t>(VT_PATH_SPECIAL));
  EXPECT_EQ(lines[1].vma.path, "[stack]");
}

// Feeds the model a kernel snapshot of [lo, hi] holding vmas (or a resync).
void snapshot(Model* m, uint64_t lo, uint64_t hi, const std::vector<VmaInfo>& vmas, uint64_t ts,
              uint64_t brk = 0, uint16_t reason = VT_SNAP_SYSCALL) {
  std::vector<Event> events = snapshot_events(kPid, ts, kMm, lo, hi, vmas, reason);
  events.back().start_brk = brk;
  events.back().brk = brk ? brk + 4 * kPg : 0;
  feed(m, events);
}

Event fault_at(uint64_t addr, uint64_t ts) { return fault_event(kPid, ts, addr); }

// Without kernel snapshots the model predicts the VMAs from the syscalls.
TraceMeta predicting_meta() {
  TraceMeta meta;
  meta.kernel_snapshots = false;
  return meta;
}

// ... starting from the target's /proc maps at attach: one VMA.
TraceMeta predicting_meta_from_maps() {
  TraceMeta meta = predicting_meta();
  meta.target_pid = kPid;
  meta.maps_at_attach = "10000000-10004000 rw-p 00000000 00:00 0 \n";
  return meta;
}

TEST(Model, SnapshotsReplaceRangesAndLifetimesFollowChanges) {
  TraceMeta meta;
  meta.kernel_release = "6.18.0";
  Model m(meta);
  const uint64_t a = 0x10000000;
  snapshot(&m, 0, ~0ULL, {anon_vma(a, 16)}, 1);
  m.apply(fault_at(a + kPg, 2));
  // mprotect of pages 4..5: the kernel reports the three pieces.
  snapshot(&m, a + 4 * kPg - 1, a + 6 * kPg,
           {anon_vma(a, 4), anon_vma(a + 4 * kPg, 2, kVmRead), anon_vma(a + 6 * kPg, 10)}, 3);
  m.apply(fault_at(a + 7 * kPg, 4));
  EXPECT_EQ(m.maps_text(7),
            "10000000-10004000 rw-p 00000000 00:00 0 \n"
            "10004000-10006000 r--p 00000000 00:00 0 \n"
            "10006000-10010000 rw-p 00000000 00:00 0 \n");
  const auto& l = m.lifetimes();
  ASSERT_EQ(l.size(), 4u);
  EXPECT_EQ(l[0].faults.total(), 1u);
  EXPECT_TRUE(l[0].ended_ns.has_value());
  EXPECT_EQ(l[3].faults.write, 1u);
  EXPECT_FALSE(l[3].ended_ns.has_value());
  // The same VMAs again: nothing ends.
  snapshot(&m, a, a + 16 * kPg, {anon_vma(a, 4), anon_vma(a + 4 * kPg, 2, kVmRead), anon_vma(a + 6 * kPg, 10)}, 5);
  EXPECT_EQ(m.lifetimes().size(), 4u);
  // Unmapped: the range reported empty.
  snapshot(&m, a - 1, a + 16 * kPg, {}, 6);
  EXPECT_EQ(m.maps_text(7), "");
  m.apply(fault_at(a, 7));
  EXPECT_EQ(m.stats().faults_unmapped, 1u);
}

TEST(Model, HeapAndStackLabelsFollowTheKernelsRules) {
  TraceMeta meta;
  meta.kernel_release = "6.18.0";
  Model m(meta);
  const uint64_t heap = 0x20000000;
  snapshot(&m, 0, ~0ULL, {anon_vma(heap - 2 * kPg, 2), anon_vma(heap, 4)}, 1, heap);
  // 6.6+: the VMA that only touches start_brk is not [heap].
  EXPECT_EQ(m.maps_text(7),
            "1fffe000-20000000 rw-p 00000000 00:00 0 \n"
            "20000000-20004000 rw-p 00000000 00:00 0                                  [heap]\n");
  EXPECT_TRUE(heap_label_is_strict("6.6.0"));
  EXPECT_FALSE(heap_label_is_strict("6.1.90"));
  EXPECT_FALSE(heap_label_is_strict("5.15.0"));
}

TEST(Model, StackGrowsDownToTheFaultingPage) {
  Model m{TraceMeta{}};
  const uint64_t stack = 0x7ff000000000;
  snapshot(&m, 0, ~0ULL, {anon_vma(stack, 8, kVmRead | kVmWrite | kVmGrowsDown)}, 1);
  m.apply(fault_at(stack - 3 * kPg + 100, 2));
  EXPECT_EQ(m.space_of(7)->vmas().begin()->second.info.start, stack - 3 * kPg);
  EXPECT_EQ(m.stats().stack_growths, 1u);
  EXPECT_EQ(m.stats().faults_charged, 1u);
}

// Threads of one process, on a kernel whose VMA iterator locks one VMA at a
// time: thread 1 unmaps D and walks its range; thread 2 maps C into the hole
// and its snapshot (taken later) reaches the ring first. Thread 1's older
// word is left out where thread 2's stands, and kept where it alone speaks.
TEST(Model, AnOlderSnapshotDoesNotUndoANewerOneOfTheSameRange) {
  Model m{TraceMeta{}};
  const uint64_t a = 0x10000000;
  snapshot(&m, 0, ~0ULL, {anon_vma(a, 2), anon_vma(a + 2 * kPg, 6), anon_vma(a + 9 * kPg, 2)}, 1);
  snapshot(&m, a + 4 * kPg, a + 6 * kPg - 1, {anon_vma(a + 4 * kPg, 2, kVmRead)}, 3);  // thread 2's mmap of C
  snapshot(&m, a + 2 * kPg, a + 8 * kPg - 1, {}, 2);  // thread 1's munmap of D, walked before C came
  EXPECT_EQ(m.maps_text(7),
            "10000000-10002000 rw-p 00000000 00:00 0 \n"
            "10004000-10006000 r--p 00000000 00:00 0 \n"
            "10009000-1000b000 rw-p 00000000 00:00 0 \n");
  EXPECT_EQ(m.stats().superseded, 1u);
  // A later snapshot of the range speaks for all of it again.
  snapshot(&m, a + 2 * kPg, a + 8 * kPg - 1, {}, 4);
  EXPECT_EQ(m.maps_text(7),
            "10000000-10002000 rw-p 00000000 00:00 0 \n"
            "10009000-1000b000 rw-p 00000000 00:00 0 \n");
  EXPECT_EQ(m.stats().superseded, 1u);
}

// The older snapshot's VMAs that reach into the newer one's range are cut
// at its edge; a file mapping's part further on maps the file further on.
TEST(Model, AnOlderSnapshotsVmaIsCutWhereANewerOneSpoke) {
  Model m{TraceMeta{}};
  const uint64_t a = 0x10000000;
  snapshot(&m, 0, ~0ULL, {}, 1);
  snapshot(&m, a, a + 2 * kPg - 1, {}, 3);  // newer: pages 0..1 unmapped
  snapshot(&m, a + 4 * kPg, a + 5 * kPg - 1, {file_vma(a, 8, kVmRead, "/lib/x.so")}, 2);  // older: 0..7 mapped
  const std::string maps = m.maps_text(7);
  EXPECT_EQ(maps.substr(0, 31), "10002000-10008000 r--p 00002000") << maps;
  EXPECT_EQ(std::count(maps.begin(), maps.end(), '\n'), 1) << maps;
  EXPECT_EQ(m.stats().superseded, 1u);
}

// Iterators of 2026 pass over a VMA another thread holds write-locked. Thread
// 1's walk (older) missed V while thread 2's munmap split it; thread 2's
// snapshot (newer) reaches a page below its range, so it sends V's remains
// whole and speaks for all of them: whichever comes first, V's remains stay.
TEST(Model, AVmaAnOlderWalkPassedOverComesBackWithTheNewerSnapshotOfItsSplit) {
  const uint64_t a = 0x10000000;
  for (bool older_first : {true, false}) {
    Model m{TraceMeta{}};
    snapshot(&m, 0, ~0ULL, {anon_vma(a, 8)}, 1);
    auto older = [&] { snapshot(&m, a + 3 * kPg - 1, a + 5 * kPg, {}, 2); };
    auto newer = [&] { snapshot(&m, a + 4 * kPg - 1, a + 8 * kPg, {anon_vma(a, 4)}, 3); };
    if (older_first) {
      older();
      newer();
    } else {
      newer();
      older();
    }
    EXPECT_EQ(m.maps_text(kPid), "10000000-10004000 rw-p 00000000 00:00 0 \n") << older_first;
  }
}

TEST(Model, AFailedSnapshotChangesNothing) {
  Model m{TraceMeta{}};
  snapshot(&m, 0, ~0ULL, {anon_vma(0x1000000, 1)}, 1);
  Event s = snapshot_record(kPid, 0, kMm, 0, ~0ULL, 0, 0);
  s.status = -16;
  m.apply(s);
  EXPECT_EQ(m.stats().snapshots_failed, 1u);
  EXPECT_NE(m.maps_text(7), "");
}

Event syscall(uint16_t sc, std::array<uint64_t, 6> args, int64_t ret) {
  return syscall_event(kPid, 0, sc, args, ret);
}

AddressSpace space_with(std::vector<VmaInfo> vmas) {
  struct Nop : AddressSpace::Observer {
    void removed(const Vma&) override {}
    void added(Vma*) override {}
  } nop;
  AddressSpace s;
  std::vector<Vma> fresh;
  for (auto& v : vmas) fresh.push_back(Vma{v, 0});
  s.replace(0, ~0ULL, std::move(fresh), &nop);
  return s;
}

TEST(Predict, MprotectSplitsMunmapPunchesAHole) {
  const uint64_t a = 0x30000000;
  auto s = space_with({anon_vma(a, 8)});
  auto p = predict(s, syscall(VT_SC_MPROTECT, {a + 2 * kPg, 2 * kPg, 1}, 0));
  ASSERT_EQ(p.size(), 1u);
  EXPECT_EQ(p[0].lo, a + 2 * kPg);
  EXPECT_EQ(p[0].hi, a + 4 * kPg - 1);
  ASSERT_EQ(p[0].fresh.size(), 1u);
  EXPECT_EQ(p[0].fresh[0].info.flags, kVmRead);
  auto u = predict(s, syscall(VT_SC_MUNMAP, {a + kPg, 100}, 0));
  ASSERT_EQ(u.size(), 1u);
  EXPECT_EQ(u[0].hi, a + 2 * kPg - 1);
  EXPECT_TRUE(u[0].fresh.empty());
  EXPECT_TRUE(predict(s, syscall(VT_SC_MUNMAP, {a + 1, kPg}, -22)).empty()) << "failed calls change nothing";
}

// RELRO: ld.so makes the first page of a file's data segment read-only.
TEST(Predict, MprotectOfAFileMappingsHeadLeavesTheRestFurtherIntoTheFile) {
  const uint64_t a = 0x30000000;
  VmaInfo data = anon_vma(a, 2);
  data.pgoff = 2;
  data.path_flags = VT_PATH_FILE;
  auto s = space_with({data});
  auto p = predict(s, syscall(VT_SC_MPROTECT, {a, kPg, 1}, 0));
  ASSERT_EQ(p.size(), 1u);
  struct Nop : AddressSpace::Observer {
    void removed(const Vma&) override {}
    void added(Vma*) override {}
  } nop;
  ASSERT_TRUE(s.replace(p[0].lo, p[0].hi, p[0].fresh, &nop));
  ASSERT_EQ(s.vmas().size(), 2u);
  EXPECT_EQ(s.vmas().at(a).info.pgoff, 2u);
  EXPECT_EQ(s.vmas().at(a + kPg).info.pgoff, 3u) << "the second page of the mapping is the file's page 3";
  EXPECT_EQ(s.vmas().at(a + kPg).info.flags, kVmRead | kVmWrite);
}

TEST(Predict, MremapMovesAndKeepsAttributes) {
  const uint64_t a = 0x30000000, to = 0x40000000;
  auto s = space_with({anon_vma(a, 4, kVmRead)});
  auto p = predict(s, syscall(VT_SC_MREMAP, {a, 4 * kPg, 8 * kPg, 1, 0}, static_cast<int64_t>(to)));
  ASSERT_EQ(p.size(), 2u);
  EXPECT_TRUE(p[0].fresh.empty());  // the source goes
  ASSERT_EQ(p[1].fresh.size(), 1u);
  EXPECT_EQ(p[1].fresh[0].info.start, to);
  EXPECT_EQ(p[1].fresh[0].info.end, to + 8 * kPg);
  EXPECT_EQ(p[1].fresh[0].info.flags, kVmRead);
}

// Before 6.16 mremap(MREMAP_FIXED) unmapped its target before it looked for
// the source: EFAULT (no source) leaves a hole where the target was.
TEST(Predict, AFailedMremapFixedHasUnmappedItsTarget) {
  const uint64_t a = 0x30000000, to = 0x40000000;
  auto s = space_with({anon_vma(to, 8, kVmRead)});
  auto failed = syscall(VT_SC_MREMAP, {a, 4 * kPg, 4 * kPg, MREMAP_MAYMOVE | MREMAP_FIXED, to + 2 * kPg}, -EFAULT);
  auto p = predict(s, failed);
  ASSERT_EQ(p.size(), 1u);
  EXPECT_EQ(p[0].lo, to + 2 * kPg);
  EXPECT_TRUE(p[0].fresh.empty());
  // Refused before the unmap (EINVAL), or without MREMAP_FIXED: nothing.
  failed.ret = -EINVAL;
  EXPECT_TRUE(predict(s, failed).empty());
  failed.ret = -EFAULT;
  failed.args[3] = MREMAP_MAYMOVE;
  EXPECT_TRUE(predict(s, failed).empty());
}

}  // namespace
}  // namespace vmatrace

namespace vmatrace {
namespace {

// A snapshot no kernel makes (from a crafted or buggy trace) is left out
// whole: the set stays as it was, the snapshot counts as failed, and the
// process is marked uncertain. lo > hi once overflowed the heap in
// VmaIndex::replace.
TEST(Model, MalformedSnapshotsAreLeftOutAndMarkTheProcess) {
  const uint64_t a = 0x10000000;
  struct Case {
    const char* what;
    uint64_t lo, hi;
    std::vector<VmaInfo> vmas;
  };
  VmaInfo empty = anon_vma(a, 0), unaligned = anon_vma(a + 100, 1), wrapped = anon_vma(a, 1);
  wrapped.end = a - kPg;
  const std::vector<Case> cases = {
      {"lo above hi", a + 8 * kPg, a, {anon_vma(a + 8 * kPg, 1)}},
      {"lo above hi, empty", a + 0x5000, a + 0x1000, {}},
      {"out of order", a, a + 8 * kPg, {anon_vma(a + 4 * kPg, 1), anon_vma(a, 1)}},
      {"overlapping", a, a + 8 * kPg, {anon_vma(a, 4), anon_vma(a + 2 * kPg, 4)}},
      {"same start twice", a, a + 8 * kPg, {anon_vma(a, 1), anon_vma(a, 2)}},
      {"empty VMA", a, a + 8 * kPg, {empty}},
      {"end before start", a, a + 8 * kPg, {wrapped}},
      {"not page-aligned", a, a + 8 * kPg, {unaligned}},
  };
  for (const Case& c : cases) {
    Model m{TraceMeta{}};
    snapshot(&m, 0, ~0ULL, {anon_vma(a, 2), anon_vma(a + 4 * kPg, 2)}, 1);
    const std::string before = m.maps_text(7);
    snapshot(&m, c.lo, c.hi, c.vmas, 2);
    EXPECT_EQ(m.stats().snapshots_failed, 1u) << c.what;
    const std::string after = m.maps_text(7);
    EXPECT_EQ(after.substr(after.find('\n') + 1), before) << c.what;
    ASSERT_EQ(m.uncertainties().size(), 1u) << c.what;
    EXPECT_EQ(m.uncertainties()[0].reason, "a malformed snapshot was left out");
    // The set still answers for every address it holds.
    m.apply(fault_at(a + kPg, 3));
    m.apply(fault_at(a + 5 * kPg, 3));
    EXPECT_EQ(m.stats().faults_charged, 2u) << c.what;
  }
}

// A /proc read torn by the process's changes (overlapping lines) is left out
// the same way, but it is no failed kernel snapshot: counted on its own.
TEST(Model, ATornProcReadIsLeftOutAndCountedAsSuch) {
  const uint64_t a = 0x10000000;
  Model m{TraceMeta{}};
  snapshot(&m, 0, ~0ULL, {anon_vma(a, 2), anon_vma(a + 4 * kPg, 2)}, 1);
  const std::string before = m.maps_text(7);
  snapshot(&m, 0, ~0ULL, {anon_vma(a, 4), anon_vma(a + 2 * kPg, 4)}, 2, 0, kSnapResync);
  EXPECT_EQ(m.stats().resyncs_malformed, 1u);
  EXPECT_EQ(m.stats().snapshots_failed, 0u);
  EXPECT_EQ(m.stats().resyncs, 0u);
  const std::string after = m.maps_text(7);
  EXPECT_EQ(after.substr(after.find('\n') + 1), before);
  ASSERT_EQ(m.uncertainties().size(), 1u);
  EXPECT_EQ(m.uncertainties()[0].reason, "a /proc read torn by the process's changes was left out");
}

// Predictions from syscalls whose arguments no kernel accepts (ranges that
// wrap) are left out the same way.
TEST(Model, PredictionsThatWrapAreLeftOut) {
  Model m(predicting_meta_from_maps());
  m.apply(syscall(VT_SC_MUNMAP, {0x10000000, UINT64_MAX - 10}, 0));  // length rounds up to 0: hi below lo
  m.apply(syscall(VT_SC_MMAP, {0, 8 * kPg, 3, 0x22}, static_cast<int64_t>(UINT64_MAX - kPg + 1)));  // ends past 2^64
  const std::string maps = m.maps_text(7);
  EXPECT_NE(maps.find("10000000-10004000 rw-p"), std::string::npos) << maps;
  ASSERT_EQ(m.uncertainties().size(), 1u);
  EXPECT_EQ(m.uncertainties()[0].reason, "a malformed munmap was left out");
}

// Seeded from the header's /proc maps, the target's space takes the kernel's
// identity at its first snapshot; a crafted fork handing that placeholder to
// another process first once made the model move a space that was gone.
TEST(Model, TheSeedSpaceClaimedByAnotherProcess) {
  TraceMeta meta;
  meta.target_pid = 7;
  meta.maps_at_attach = "10000000-10004000 rw-p 00000000 00:00 0 \n";
  Model m(meta);
  m.apply(fork_event(kPid, 0, 8, 1));  // 1: the placeholder's key
  Event s = snapshot_record(kPid, 0, 0x5000, 0, ~0ULL, 0, 0);
  m.apply(s);  // 7's space becomes 0x5000, empty now
  s.pid = s.tid = 8;
  s.mm = 0x6000;
  m.apply(s);  // 8 still points at the placeholder, which has moved
  EXPECT_EQ(m.mm_of(7), 0x5000u);
  EXPECT_EQ(m.mm_of(8), 0x6000u);
  EXPECT_EQ(m.maps_text(8), "");
}

// Without kernel snapshots a child's VMAs are its parent's, from the fork on:
// its first faults are charged (copy-on-write needs to know the memory).
TEST(Model, WithoutKernelSnapshotsAForkedChildStartsWithItsParentsVmas) {
  Model m(predicting_meta_from_maps());
  Event fork = fork_event(kPid, 5, 8, 0x6000);
  m.apply(fork);
  EXPECT_EQ(m.maps_text(8), m.maps_text(7));
  Event f = fault_at(0x10001000, 6);
  f.pid = f.tid = 8;
  m.apply(f);
  ASSERT_TRUE(m.last_fault_vma());
  const Lifetime& l = m.lifetimes()[m.last_fault_vma()->lifetime];
  EXPECT_EQ(l.pid, 8u);
  EXPECT_EQ(l.origin.reason, VT_SNAP_FORK);
  EXPECT_EQ(l.faults.write, 1u);
  EXPECT_EQ(m.stats().faults_unmapped, 0u);
  // A vfork (the same mm) shares the space: nothing to copy.
  fork.child_pid = fork.child_tid = 9;
  fork.mm = m.mm_of(7);
  m.apply(fork);
  EXPECT_EQ(m.mm_of(9), m.mm_of(7));
}

// A resync that read /proc after the exec shows the loader's mappings before
// their mmap events come: each mmap still makes new memory, with its origin.
TEST(Model, AMmapOverWhatAResyncShowedIsNewMemory) {
  Model m(predicting_meta());
  m.apply(exec_event(kPid, 1, kMm));
  const uint64_t a = 0x10000000;
  snapshot(&m, 0, ~0ULL, {anon_vma(a, 16)}, 1, 0, kSnapResync);
  m.apply(vma_record(kPid, 2, anon_vma(a, 16), VT_VMA_MAPPED));
  Event mmap = syscall(VT_SC_MMAP, {0, 16 * kPg, 3, 0x22}, static_cast<int64_t>(a));
  mmap.ts = 2;
  m.apply(mmap);
  const auto& l = m.lifetimes();
  ASSERT_EQ(l.size(), 2u);
  EXPECT_EQ(l[0].origin.reason, kSnapResync);
  EXPECT_TRUE(l[0].ended_ns.has_value());
  EXPECT_EQ(l[1].origin.sc, VT_SC_MMAP);
  EXPECT_FALSE(l[1].ended_ns.has_value());
  // The same mapping seen again by a resync goes on as it was.
  snapshot(&m, 0, ~0ULL, {anon_vma(a, 16)}, 3, 0, kSnapResync);
  EXPECT_EQ(m.lifetimes().size(), 2u);
}

// An mmap whose record comes after a /proc read it overlapped (it began
// before the read ended) may be what the read showed: its mapping goes on as
// the read's. One that began after the read is new memory, as above.
TEST(Model, AMmapThatOverlappedAResyncReadIsTheMappingItShowed) {
  Model m(predicting_meta());
  m.apply(exec_event(kPid, 1, kMm));
  const uint64_t a = 0x10000000;
  snapshot(&m, 0, ~0ULL, {anon_vma(a, 16)}, 30, 0, kSnapResync);
  Event mmap = syscall(VT_SC_MMAP, {a, 16 * kPg, 3, 0x32}, static_cast<int64_t>(a));
  m.apply(vma_record(kPid, 35, anon_vma(a, 16), VT_VMA_MAPPED));
  mmap.ts = 35;
  mmap.duration_ns = 10;  // began at 25
  m.apply(mmap);
  ASSERT_EQ(m.lifetimes().size(), 1u);
  EXPECT_FALSE(m.lifetimes()[0].ended_ns.has_value());
  m.apply(vma_record(kPid, 45, anon_vma(a, 16), VT_VMA_MAPPED));
  mmap.ts = 45;  // began at 35
  m.apply(mmap);
  ASSERT_EQ(m.lifetimes().size(), 2u);
  EXPECT_EQ(m.lifetimes()[0].ended_ns, 45u);
  EXPECT_EQ(m.lifetimes()[1].origin.sc, VT_SC_MMAP);
}

// /proc shows less than the kernel's records (no VM_ACCOUNT, no anonymous
// pgoff): a resync that shows a VMA as the model has it, in all it can show,
// does not end that VMA's lifetime; one that shows other permissions does.
TEST(Model, AResyncShowingAVmaAsTheModelHasItKeepsItsLifetime) {
  Model m(predicting_meta());
  m.apply(exec_event(kPid, 1, kMm));
  const uint64_t a = 0x10000000, vm_account = 0x100000;
  snapshot(&m, 0, ~0ULL, {anon_vma(a, 16, kVmRead | kVmWrite | vm_account)}, 10);
  VmaInfo shown = anon_vma(a, 16);
  shown.pgoff = 0;  // maps prints an anonymous mapping's offset as 0
  snapshot(&m, 0, ~0ULL, {shown}, 20, 0, kSnapResync);
  ASSERT_EQ(m.lifetimes().size(), 1u);
  EXPECT_FALSE(m.lifetimes()[0].ended_ns.has_value());
  EXPECT_EQ(m.space_of(7)->find(a)->info.flags, kVmRead | kVmWrite | vm_account);
  EXPECT_EQ(m.space_of(7)->find(a)->info.pgoff, a / kPg);
  shown.flags = kVmRead;
  snapshot(&m, 0, ~0ULL, {shown}, 30, 0, kSnapResync);
  ASSERT_EQ(m.lifetimes().size(), 2u);
  EXPECT_EQ(m.lifetimes()[0].ended_ns, 30u);
}

// A /proc read that changes overlapped repairs a model that lost events,
// but cannot vouch for it: the process stays uncertain until a clean read.
TEST(Model, AResyncDuringChangesRepairsButLeavesTheModelUncertain) {
  Model m(predicting_meta());
  m.apply(exec_event(kPid, 1, kMm));
  const uint64_t a = 0x10000000, b = 0x20000000;
  snapshot(&m, 0, ~0ULL, {anon_vma(a, 16)}, 10, 0, kSnapResync);
  Event stats;
  stats.kind = Kind::Stats;
  stats.ts = 20;
  stats.lost.by_reason.assign(VT_LOST_RINGBUF_SYSCALL + 1, 0);
  stats.lost.by_reason[VT_LOST_RINGBUF_SYSCALL] = 3;  // the mmap of b among them
  m.apply(stats);
  ASSERT_EQ(m.uncertainties().size(), 1u);
  snapshot(&m, 0, ~0ULL, {anon_vma(a, 16), anon_vma(b, 4)}, 30, 0, kSnapResyncRacy);
  EXPECT_EQ(m.space_of(kPid)->size(), 2u);
  EXPECT_EQ(m.stats().resyncs, 1u + 1u);
  EXPECT_EQ(m.stats().resyncs_during_changes, 1u);
  EXPECT_FALSE(m.uncertainties()[0].to_ns.has_value());
  EXPECT_EQ(m.maps_text(kPid).rfind("# vmatrace: UNCERTAIN", 0), 0u);
  snapshot(&m, 0, ~0ULL, {anon_vma(a, 16), anon_vma(b, 4)}, 40, 0, kSnapResync);
  EXPECT_TRUE(m.uncertainties()[0].to_ns.has_value());
  EXPECT_NE(m.maps_text(kPid).rfind("# vmatrace: UNCERTAIN", 0), 0u);
}

// A thread's snapshot taken before a resync's /proc read, but reaching the
// ring after it (a starved CPU between taking and sending it), says less
// than the read: left out, it cannot bring back what another thread unmapped.
TEST(Model, ASnapshotOlderThanAResyncIsLeftOut) {
  Model m{TraceMeta{}};
  const uint64_t a = 0x10000000, b = 0x20000000;
  snapshot(&m, 0, ~0ULL, {anon_vma(a, 1), anon_vma(b, 1)}, 10);
  snapshot(&m, 0, ~0ULL, {anon_vma(a, 1)}, 30, 0, kSnapResync);  // b is gone
  snapshot(&m, b, b + kPg - 1, {anon_vma(b, 1)}, 20);  // taken before the read
  EXPECT_EQ(m.space_of(7)->size(), 1u);
  EXPECT_EQ(m.stats().superseded, 1u);
  // A failed one as old marks nothing: the read came after it.
  Event failed = snapshot_record(kPid, 25, kMm, 0, 0, 0, 0);
  failed.status = -16;
  m.apply(failed);
  EXPECT_TRUE(m.uncertainties().empty());
  // Newer than the read: applied.
  snapshot(&m, b, b + kPg - 1, {anon_vma(b, 1)}, 31);
  EXPECT_EQ(m.space_of(7)->size(), 2u);
}

// Without kernel snapshots the same holds for a prediction: a munmap the
// /proc read already shows is not applied a second time over it.
TEST(Model, APredictionOlderThanAResyncIsLeftOut) {
  Model m(predicting_meta());
  m.apply(exec_event(kPid, 1, kMm));
  const uint64_t a = 0x10000000;
  snapshot(&m, 0, ~0ULL, {anon_vma(a, 4)}, 30, 0, kSnapResync);
  // A munmap of a's first page done before the read, which shows a mapped
  // again since: applied now it would unmap a live page.
  Event munmap = syscall(VT_SC_MUNMAP, {a, kPg}, 0);
  munmap.ts = 20;
  m.apply(munmap);
  EXPECT_NE(m.space_of(7)->find(a), nullptr);
  EXPECT_EQ(m.stats().superseded, 1u);
  munmap.ts = 31;
  m.apply(munmap);
  EXPECT_EQ(m.space_of(7)->size(), 1u) << "the rest of the VMA stays";
  EXPECT_EQ(m.space_of(7)->find(a), nullptr);
}

}  // namespace
}  // namespace vmatrace
