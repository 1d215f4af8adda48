// Synthetic Events for the unit tests, the benchmarks and the fuzzers' seeds,
// one builder per kind: each sets what a recorded event of that kind always
// carries, so that a test spells out only the fields it is about.
// Header-only: the fuzz seed maker and the benchmarks link no test library.
// In namespace vmatrace, not vmatrace::testing: that would hide gtest's
// ::testing from the tests' testing::internal::CaptureStdout().
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "events/abi.h"
#include "events/event.h"
#include "model/maps_format.h"
#include "model/model.h"

namespace vmatrace {

// The fault most tests make: a user-mode write to a page not present.
inline constexpr uint16_t kUserWrite = VT_PF_USER | VT_PF_WRITE;

// x86-64's, as the recorded traces have it.
inline constexpr uint64_t kSyntheticPage = 4096;

// Single-threaded processes are the common case: the main thread (tid ==
// pid) emits the event.
inline Event event_at(Kind kind, uint32_t pid, uint64_t ts) {
  Event e;
  e.kind = kind;
  e.pid = e.tid = pid;
  e.ts = ts;
  return e;
}

// pgoff as the kernel sets it for anonymous memory (the start's page
// number): the model tells a VMA that stayed from a new one by it.
inline VmaInfo anon_vma(uint64_t start, uint64_t pages, uint64_t flags = kVmRead | kVmWrite) {
  VmaInfo v;
  v.start = start;
  v.end = start + pages * kSyntheticPage;
  v.flags = flags;
  v.pgoff = start / kSyntheticPage;
  return v;
}

// A mapping of path from the file's start; extra_path_flags: VT_PATH_DELETED & co.
inline VmaInfo file_vma(uint64_t start, uint64_t pages, uint64_t flags, const std::string& path,
                        uint32_t extra_path_flags = 0) {
  VmaInfo v = anon_vma(start, pages, flags);
  v.pgoff = 0;
  v.ino = 42;
  v.path = path;
  v.path_flags = VT_PATH_FILE | extra_path_flags;
  return v;
}

inline Event vma_record(uint32_t pid, uint64_t ts, const VmaInfo& vma, uint16_t reason = VT_VMA_SNAPSHOT) {
  Event e = event_at(Kind::Vma, pid, ts);
  e.vma = vma;
  e.vma.reason = reason;
  return e;
}

// The record that closes a snapshot of pid's [lo, hi]: the kernel's VMAs
// there are the `count` VMA records just before it.
inline Event snapshot_record(uint32_t pid, uint64_t ts, uint64_t mm, uint64_t lo, uint64_t hi, uint32_t count,
                             uint16_t reason = VT_SNAP_SYSCALL, uint16_t sc = 0) {
  Event s = event_at(Kind::Snapshot, pid, ts);
  s.mm = mm;
  s.lo = lo;
  s.hi = hi;
  s.count = count;
  s.snap_reason = reason;
  s.sc = sc;
  return s;
}

// A whole snapshot as the kernel sends it: vmas' records, then the one
// closing them (the last element, for a test to change its status or brk).
inline std::vector<Event> snapshot_events(uint32_t pid, uint64_t ts, uint64_t mm, uint64_t lo, uint64_t hi,
                                          const std::vector<VmaInfo>& vmas, uint16_t reason = VT_SNAP_SYSCALL,
                                          uint16_t sc = 0) {
  std::vector<Event> out;
  out.reserve(vmas.size() + 1);
  for (const VmaInfo& v : vmas) out.push_back(vma_record(pid, ts, v));
  out.push_back(snapshot_record(pid, ts, mm, lo, hi, static_cast<uint32_t>(vmas.size()), reason, sc));
  return out;
}

inline void feed(Model* m, const std::vector<Event>& events) {
  for (const Event& e : events) m->apply(e);
}

// The three VMAs an mprotect of whole's second page to flags leaves (whole
// spans three pages or more).
inline std::array<VmaInfo, 3> protect_second_page(const VmaInfo& whole, uint64_t flags) {
  VmaInfo left = whole, mid = whole, right = whole;
  left.end = whole.start + kSyntheticPage;
  mid.start = left.end;
  mid.end = mid.start + kSyntheticPage;
  mid.flags = flags;
  mid.pgoff = mid.start / kSyntheticPage;
  right.start = mid.end;
  right.pgoff = right.start / kSyntheticPage;
  return {left, mid, right};
}

inline Event fault_event(uint32_t pid, uint64_t ts, uint64_t addr, uint16_t error_code = kUserWrite,
                         uint16_t fault_flags = 0) {
  Event f = event_at(Kind::Fault, pid, ts);
  f.addr = addr;
  f.error_code = error_code;
  f.fault_flags = fault_flags;
  return f;
}

inline Event syscall_event(uint32_t pid, uint64_t ts, uint16_t sc, const std::array<uint64_t, 6>& args,
                           int64_t ret) {
  Event e = event_at(Kind::Syscall, pid, ts);
  e.sc = sc;
  e.args = args;
  e.ret = ret;
  return e;
}

// mm: the new address space the exec made.
inline Event exec_event(uint32_t pid, uint64_t ts, uint64_t mm, const std::string& filename = "") {
  Event e = event_at(Kind::Exec, pid, ts);
  e.mm = mm;
  e.filename = filename;
  return e;
}

// A new process (child_mm: its address space; the parent's own for a vfork).
inline Event fork_event(uint32_t pid, uint64_t ts, uint32_t child, uint64_t child_mm) {
  Event e = event_at(Kind::Fork, pid, ts);
  e.child_pid = e.child_tid = child;
  e.mm = child_mm;
  return e;
}

// The default: the last thread of the process exited.
inline Event exit_event(uint32_t pid, uint64_t ts, uint32_t exit_flags = VT_EXIT_GROUP_DEAD) {
  Event e = event_at(Kind::Exit, pid, ts);
  e.exit_flags = exit_flags;
  return e;
}

// lost_by_reason: totals so far, by vt_lost_reason; final: the trace's end record.
inline Event stats_event(uint64_t ts, std::vector<uint64_t> lost_by_reason, bool final = false) {
  Event e;
  e.kind = Kind::Stats;
  e.ts = ts;
  e.lost.by_reason = std::move(lost_by_reason);
  e.final_stats = final;
  return e;
}

}  // namespace vmatrace
