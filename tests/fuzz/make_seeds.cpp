// Writes the fuzzers' seed corpora (tests/fuzz/corpus/<target>/): a few
// small inputs holding every kind of event, so that fuzzing starts from
// inputs that reach deep.   make_seeds CORPUS_DIR
#include <sys/stat.h>

#include <cstdio>
#include <cstring>
#include <fstream>
#include <vector>

#include "chunk_input.h"
#include "events/abi.h"
#include "record/codec.h"
#include "synthetic_events.h"

using namespace vmatrace;
using vmatrace::fuzz::kFuzzPid;
using vmatrace::fuzz::kFuzzT0;

namespace {

constexpr uint64_t kPg = 4096, kMs = 1'000'000, kMm = 0xffff888000001000;
constexpr uint64_t kCode = 0x400000, kHeap = 0x1000000, kAnon = 0x7f0000000000, kStack = 0x7ffff0000000;

const char* kMaps =
    "00400000-00410000 r-xp 00000000 fe:00 1234                               /bin/fuzz\n"
    "01000000-01021000 rw-p 00000000 00:00 0                                  [heap]\n"
    "7f0000000000-7f0000100000 rw-p 00000000 00:00 0 \n"
    "7ffff0000000-7ffff0021000 rw-p 00000000 00:00 0                          [stack]\n"
    "ffffffffff600000-ffffffffff601000 --xp 00000000 00:00 0                  [vsyscall]\n";

VmaInfo vma(uint64_t start, uint64_t end, uint64_t flags, const char* path = "", uint32_t path_flags = 0) {
  VmaInfo v;
  v.start = start;
  v.end = end;
  v.flags = flags;
  v.path = path;
  v.path_flags = path_flags;
  if (path_flags & VT_PATH_FILE) {
    v.dev = 0xfe00000;
    v.ino = 1234;
  }
  return v;
}

void snapshot(std::vector<Event>* out, uint64_t ts, uint64_t lo, uint64_t hi, const std::vector<VmaInfo>& vmas,
              uint16_t reason, uint16_t sc = 0, int32_t status = 0, uint32_t pid = kFuzzPid, uint64_t mm = kMm) {
  for (Event& e : snapshot_events(pid, ts, mm, lo, hi, vmas, reason, sc)) out->push_back(std::move(e));
  Event& s = out->back();
  s.start_brk = kHeap;
  s.brk = kHeap + 0x21000;
  s.start_stack = kStack + 0x20000;
  s.status = status;
}

Event syscall(uint64_t ts, uint16_t sc, std::array<uint64_t, 6> args, int64_t ret) {
  Event e = syscall_event(kFuzzPid, ts, sc, args, ret);
  e.duration_ns = 1500;
  return e;
}

Event fault(uint64_t ts, uint64_t addr, uint16_t flags = 0, int32_t stack = -1) {
  Event e = fault_event(kFuzzPid, ts, addr, kUserWrite, flags);
  e.ip = kCode + 0x1234;
  e.latency_ns = 900 + static_cast<uint32_t>(addr % 777);
  e.stack_id = stack;
  return e;
}

Event stats(uint64_t ts, uint64_t lost_snapshots, bool final) {
  Event e = event_at(Kind::Stats, kFuzzPid, ts);
  e.lost.by_reason.assign(VT_LOST_MAX, 0);
  e.lost.by_reason[VT_LOST_RINGBUF_SNAPSHOT] = lost_snapshots;
  e.lost.by_reason[VT_LOST_RINGBUF_FAULT] = 3;
  e.final_stats = final;
  return e;
}

// Every kind of event, with kernel snapshots: the recorder's usual trace.
std::vector<Event> snapshot_trace() {
  std::vector<Event> v;
  uint64_t t = kFuzzT0;
  snapshot(&v, t, 0, ~0ULL,
           {vma(kCode, kCode + 16 * kPg, 0x75, "/bin/fuzz", VT_PATH_FILE), vma(kHeap, kHeap + 0x21000, 0x73),
            vma(kAnon, kAnon + 256 * kPg, 0x73), vma(kStack, kStack + 0x21000, 0x173)},
           VT_SNAP_SEED);
  snapshot(&v, t + kMs, kAnon + 256 * kPg, kAnon + 512 * kPg, {vma(kAnon, kAnon + 512 * kPg, 0x73)}, VT_SNAP_SYSCALL,
           VT_SC_MMAP);
  v.push_back(syscall(t + kMs, VT_SC_MMAP, {0, 256 * kPg, 3, 0x22, static_cast<uint64_t>(-1), 0},
                      static_cast<int64_t>(kAnon + 256 * kPg)));
  for (uint64_t i = 0; i < 40; i++) v.push_back(fault(t + 600 * kMs + i * 10 * kMs, kAnon + (i % 256) * kPg));
  v.push_back(fault(t + 1000 * kMs, kAnon, 0, 3));
  Event stack = event_at(Kind::Stack, kFuzzPid, t + 1000 * kMs);
  stack.stack_id = 3;
  stack.stack = {kCode + 0x1234, kCode + 0x2000, kCode + 0x3000};
  v.push_back(stack);
  // A storm, as the fuzzers' report finds them (at least 20 faults).
  for (uint64_t i = 0; i < 60; i++) v.push_back(fault(t + 1001 * kMs + i * 100'000, kAnon + (i % 512) * kPg));
  v.push_back(fault(t + 1030 * kMs, kStack - kPg + 8));  // grows the stack
  v.push_back(fault(t + 1031 * kMs, 0x10, VT_FAULT_INCOMPLETE));
  v.push_back(stats(t + 1100 * kMs, 0, false));
  snapshot(&v, t + 1200 * kMs, kAnon, kAnon + kPg, {}, VT_SNAP_SYSCALL, VT_SC_MPROTECT, -16);
  v.push_back(syscall(t + 1200 * kMs, VT_SC_MPROTECT, {kAnon, kPg, 1}, 0));
  snapshot(&v, t + 1201 * kMs, 0, ~0ULL, {vma(kCode, kCode + 16 * kPg, 0x75, "/bin/fuzz", VT_PATH_FILE)}, kSnapResync);
  v.push_back(fork_event(kFuzzPid, t + 1300 * kMs, kFuzzPid + 1, kMm + 0x1000));
  snapshot(&v, t + 1300 * kMs, 0, ~0ULL, {vma(kAnon, kAnon + kPg, 0x73)}, VT_SNAP_FORK, 0, 0, kFuzzPid + 1,
           kMm + 0x1000);
  v.push_back(exec_event(kFuzzPid + 1, t + 1400 * kMs, kMm + 0x2000, "/bin/other"));
  snapshot(&v, t + 1400 * kMs, 0, ~0ULL, {vma(kCode, kCode + kPg, 0x75, "/bin/other", VT_PATH_FILE)}, VT_SNAP_EXEC,
           0, 0, kFuzzPid + 1, kMm + 0x2000);
  v.push_back(exit_event(kFuzzPid + 1, t + 1500 * kMs));
  v.push_back(stats(t + 1600 * kMs, 1, false));
  v.push_back(stats(0, 1, true));
  return v;
}

// Without kernel snapshots: the model predicts from syscalls and the VMAs
// bpf_find_vma reported.
std::vector<Event> predicting_trace() {
  std::vector<Event> v;
  uint64_t t = kFuzzT0;
  v.push_back(vma_record(kFuzzPid, t + kMs, vma(kAnon + 256 * kPg, kAnon + 512 * kPg, 0x73), VT_VMA_MAPPED));
  v.push_back(syscall(t + kMs, VT_SC_MMAP, {0, 256 * kPg, 3, 0x22, static_cast<uint64_t>(-1), 0},
                      static_cast<int64_t>(kAnon + 256 * kPg)));
  v.push_back(syscall(t + 2 * kMs, VT_SC_MPROTECT, {kAnon + 300 * kPg, 4 * kPg, 1}, 0));
  v.push_back(syscall(t + 3 * kMs, VT_SC_MREMAP, {kAnon + 256 * kPg, 8 * kPg, 16 * kPg, 1, 0},
                      static_cast<int64_t>(kAnon + 1024 * kPg)));
  v.push_back(syscall(t + 4 * kMs, VT_SC_MUNMAP, {kAnon, 2 * kPg}, 0));
  v.push_back(syscall(t + 5 * kMs, VT_SC_BRK, {kHeap + 0x40000, kHeap + 0x21000}, static_cast<int64_t>(kHeap + 0x40000)));
  for (uint64_t i = 0; i < 20; i++) v.push_back(fault(t + 6 * kMs + i * kMs, kAnon + 256 * kPg + i * kPg));
  v.push_back(stats(0, 0, true));
  return v;
}

bool write_file(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  return static_cast<bool>(out << bytes);
}

// events as a trace file (chunks of per_chunk records).
std::string trace_file(const std::vector<Event>& events, bool kernel_snapshots, size_t per_chunk) {
  std::vector<fuzz::Segment> segments{{static_cast<uint8_t>(kernel_snapshots ? 0 : 1), kMaps}};
  for (size_t i = 0; i < events.size(); i += per_chunk) {
    fuzz::Segment s;
    ChunkEncoder enc;
    for (size_t j = i; j < std::min(events.size(), i + per_chunk); j++) enc.encode(events[j]);
    s.bytes = enc.finish();
    segments.push_back(std::move(s));
  }
  return fuzz::join_segments(segments);
}

template <class T>
std::string record(T r, uint16_t kind, uint16_t size = sizeof(T)) {
  r.hdr.ts = kFuzzT0;
  r.hdr.pid = r.hdr.tid = 7;
  r.hdr.kind = kind;
  r.hdr.size = size;
  return std::string(reinterpret_cast<const char*>(&r), size);
}

std::vector<std::string> ring_records() {
  vt_syscall_event sc{};
  sc.sc = VT_SC_MMAP;
  sc.ret = 0x7f0000000000;
  sc.args[1] = 4096;
  vt_fault_event f{};
  f.addr = 0x7f0000000010;
  f.ip = 0x401000;
  f.error_code = VT_PF_USER | VT_PF_WRITE;
  f.stack_id = -1;
  vt_vma_event v{};
  v.start = 0x7f0000000000;
  v.end = 0x7f0000001000;
  v.flags = 0x73;
  v.reason = VT_VMA_SNAPSHOT;
  v.path_flags = VT_PATH_FILE;
  const char path[] = "libc.so.6\0lib\0usr";
  std::memcpy(v.path, path, sizeof(path));
  v.path_len = sizeof(path);
  uint16_t vma_size = static_cast<uint16_t>((offsetof(vt_vma_event, path) + sizeof(path) + 7) & ~7ul);
  vt_snapshot_event s{};
  s.mm = 0x1000;
  s.lo = 0x7f0000000000;
  s.hi = 0x7f0000000fff;
  s.count = 1;
  s.reason = VT_SNAP_SYSCALL;
  s.sc = VT_SC_MMAP;
  vt_exec_event x{};
  std::memcpy(x.filename, "/bin/true", 9);
  x.filename_len = 9;
  x.mm = 0x2000;
  vt_fork_event k{};
  k.child_pid = k.child_tid = 8;
  k.child_mm = 0x3000;
  vt_exit_event e{};
  e.flags = VT_EXIT_GROUP_DEAD;
  // A batch: a header, then the VMA record and the snapshot, each 8-byte aligned.
  std::string inner = record(v, VT_EV_VMA, vma_size) + record(s, VT_EV_SNAPSHOT);
  vt_hdr bh{};
  bh.ts = kFuzzT0;
  bh.pid = bh.tid = 7;
  bh.kind = VT_EV_BATCH;
  bh.size = static_cast<uint16_t>(sizeof(bh) + inner.size());
  std::string batch = std::string(reinterpret_cast<const char*>(&bh), sizeof(bh)) + inner;
  return {record(sc, VT_EV_SYSCALL), record(f, VT_EV_FAULT), record(v, VT_EV_VMA, vma_size), record(s, VT_EV_SNAPSHOT),
          record(x, VT_EV_EXEC), record(k, VT_EV_FORK), record(e, VT_EV_EXIT), batch};
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: %s CORPUS_DIR\n", argv[0]);
    return 2;
  }
  const std::string dir = argv[1];
  for (const char* t : {"", "/trace_file", "/trace_chunks", "/ring_records", "/proc_maps"})
    mkdir((dir + t).c_str(), 0755);
  bool ok = true;
  const auto usual = snapshot_trace(), predicting = predicting_trace();
  const std::string usual_chunks = trace_file(usual, true, 400), predicting_chunks = trace_file(predicting, false, 8);
  ok &= write_file(dir + "/trace_chunks/usual", usual_chunks);
  ok &= write_file(dir + "/trace_chunks/predicting", predicting_chunks);
  for (const auto& [name, chunks] : {std::pair{"usual", usual_chunks}, {"predicting", predicting_chunks}}) {
    auto segments = fuzz::split_segments(reinterpret_cast<const uint8_t*>(chunks.data()), chunks.size());
    ok &= write_file(dir + "/trace_file/" + name + ".vmt", fuzz::trace_of(segments));
  }
  auto records = ring_records();
  for (size_t i = 0; i < records.size(); i++) ok &= write_file(dir + "/ring_records/" + std::to_string(i), records[i]);
  ok &= write_file(dir + "/proc_maps/typical", kMaps);
  ok &= write_file(dir + "/proc_maps/odd",
                   "7f24c2b1f000-7f24c2b23000 rw-s 00001000 00:10 1039                       /memfd:x (deleted)\n"
                   "00400000-00401000 r-xp 00002000 fe:01 77 /bin/x (deleted)\n"
                   "7f24c30bf000-7f24c30c1000 rw-p 00000000 00:00 0 \n"
                   "7ffd5e9f0000-7ffd5e9f4000 r--p 00000000 00:00 0                          [vvar]\n");
  if (!ok) {
    perror(dir.c_str());
    return 1;
  }
  return 0;
}
