// Defensive parsing of ring-buffer records: sizes are checked before any
// field is read, strings are bounded, and anything odd is rejected.
#include <algorithm>
#include <cstddef>
#include <cstring>

#include "events/abi.h"
#include "events/event.h"

namespace vmatrace {

uint64_t LostCounts::total() const {
  uint64_t n = 0;
  for (auto v : by_reason) n += v;
  return n;
}

bool VmaInfo::operator==(const VmaInfo& o) const {
  return start == o.start && end == o.end && flags == o.flags && pgoff == o.pgoff &&
         ino == o.ino && dev == o.dev && path_flags == o.path_flags && reason == o.reason &&
         path == o.path;
}

bool Event::operator==(const Event& o) const {
  return kind == o.kind && ts == o.ts && pid == o.pid && tid == o.tid && sc == o.sc &&
         duration_ns == o.duration_ns && ret == o.ret && args == o.args && addr == o.addr &&
         ip == o.ip && latency_ns == o.latency_ns && error_code == o.error_code &&
         fault_flags == o.fault_flags && vma == o.vma && old_tid == o.old_tid &&
         filename == o.filename && child_pid == o.child_pid && child_tid == o.child_tid &&
         fork_flags == o.fork_flags && exit_code == o.exit_code && exit_flags == o.exit_flags &&
         lost == o.lost && final_stats == o.final_stats && mm == o.mm && lo == o.lo && hi == o.hi &&
         start_brk == o.start_brk && brk == o.brk && start_stack == o.start_stack &&
         count == o.count && status == o.status && snap_reason == o.snap_reason &&
         stack_id == o.stack_id && stack == o.stack;
}

bool known_syscall(uint64_t sc) { return sc > 0 && sc < VT_SC_MAX; }

uint64_t Event::began_ns() const {
  return kind == Kind::Syscall ? ts - std::min<uint64_t>(ts, duration_ns) : ts;
}

bool Event::complete_fault() const { return kind == Kind::Fault && !(fault_flags & VT_FAULT_INCOMPLETE); }

void Event::reset() {
  // Field by field: assigning a fresh Event would free and rebuild the strings.
  kind = Kind::Syscall;
  ts = 0;
  pid = tid = 0;
  sc = 0;
  duration_ns = 0;
  ret = 0;
  args = {};
  addr = ip = 0;
  latency_ns = 0;
  error_code = fault_flags = 0;
  stack_id = -1;
  stack.clear();
  std::string path = std::move(vma.path);
  path.clear();
  vma = VmaInfo();
  vma.path = std::move(path);
  old_tid = 0;
  filename.clear();
  child_pid = child_tid = fork_flags = 0;
  exit_code = 0;
  exit_flags = 0;
  lost.by_reason.clear();
  final_stats = false;
  mm = lo = hi = start_brk = brk = start_stack = 0;
  count = 0;
  status = 0;
  snap_reason = 0;
}

namespace {

template <class T>
bool load(const void* data, size_t size, T* out) {
  if (size < sizeof(T)) return false;
  std::memcpy(out, data, sizeof(T));
  return true;
}

// "leaf\0dir\0usr\0" -> "/usr/dir/leaf"
std::string join_components(const char* buf, size_t len) {
  std::vector<std::string> parts;
  size_t i = 0;
  while (i < len) {
    size_t n = strnlen(buf + i, len - i);
    if (n > 0) parts.emplace_back(buf + i, n);
    i += n + 1;
  }
  std::string path;
  for (auto it = parts.rbegin(); it != parts.rend(); ++it) path += "/" + *it;
  return path.empty() ? "/" : path;
}

bool decode_vma(const void* data, size_t size, Event* e) {
  // Variable length: the fixed part, then path_len bytes of path.
  constexpr size_t kFixed = offsetof(vt_vma_event, path);
  vt_vma_event r;
  if (size < kFixed) return false;
  std::memset(&r, 0, sizeof(r));
  std::memcpy(&r, data, std::min(size, sizeof(r)));
  if (r.path_len > VT_PATH_MAX || r.path_len > size - kFixed || r.end < r.start) return false;
  e->vma.start = r.start;
  e->vma.end = r.end;
  e->vma.flags = r.flags;
  e->vma.pgoff = r.pgoff;
  e->vma.ino = r.ino;
  e->vma.dev = r.dev;
  e->vma.reason = r.reason;
  e->vma.path_flags = r.path_flags;
  if ((r.path_flags & VT_PATH_FILE) && r.path_len > 0) {
    e->vma.path = join_components(r.path, r.path_len);
    // The top of a cut path is missing: never show it as if whole.
    if (r.path_flags & VT_PATH_TRUNCATED) e->vma.path.insert(0, "...");
  }
  else if (r.path_flags & VT_PATH_SPECIAL)
    e->vma.path.assign(r.path, strnlen(r.path, r.path_len));
  return true;
}

}  // namespace

size_t for_each_record(const void* data, size_t size, const std::function<void(Event&)>& fn) {
  vt_hdr h;
  if (!load(data, size, &h)) return 1;
  if (h.kind != VT_EV_BATCH) {
    auto e = decode_record(data, size);
    if (!e) return 1;
    fn(*e);
    return 0;
  }
  if (h.size > size || h.size < sizeof(vt_hdr)) return 1;
  const auto* p = static_cast<const uint8_t*>(data) + sizeof(vt_hdr);
  const auto* end = static_cast<const uint8_t*>(data) + h.size;
  size_t bad = 0;
  while (p + sizeof(vt_hdr) <= end) {
    vt_hdr sub;
    std::memcpy(&sub, p, sizeof(sub));
    size_t step = (static_cast<size_t>(sub.size) + 7) & ~size_t{7};
    if (sub.size < sizeof(vt_hdr) || sub.kind == VT_EV_BATCH || step > static_cast<size_t>(end - p)) return bad + 1;
    auto e = decode_record(p, sub.size);
    e ? fn(*e) : void(bad++);
    p += step;
  }
  return bad;
}

std::optional<Event> decode_record(const void* data, size_t size) {
  vt_hdr h;
  if (!load(data, size, &h) || h.size > size) return std::nullopt;
  size = h.size;  // the record's own length bounds every field read below
  Event e;
  e.ts = h.ts;
  e.pid = h.pid;
  e.tid = h.tid;
  switch (h.kind) {
    case VT_EV_SYSCALL: {
      vt_syscall_event r;
      if (!load(data, size, &r) || !known_syscall(r.sc)) return std::nullopt;
      e.kind = Kind::Syscall;
      e.sc = r.sc;
      e.duration_ns = r.duration_ns;
      e.ret = r.ret;
      std::memcpy(e.args.data(), r.args, sizeof(r.args));
      return e;
    }
    case VT_EV_FAULT: {
      vt_fault_event r;
      if (!load(data, size, &r)) return std::nullopt;
      e.kind = Kind::Fault;
      e.addr = r.addr;
      e.ip = r.ip;
      e.latency_ns = r.latency_ns;
      e.error_code = r.error_code;
      e.fault_flags = r.flags;
      e.stack_id = r.stack_id;
      return e;
    }
    case VT_EV_VMA:
      e.kind = Kind::Vma;
      if (!decode_vma(data, size, &e)) return std::nullopt;
      return e;
    case VT_EV_EXEC: {
      vt_exec_event r;
      if (!load(data, size, &r) || r.filename_len >= VT_PATH_MAX) return std::nullopt;
      e.kind = Kind::Exec;
      e.old_tid = r.old_tid;
      e.mm = r.mm;
      e.filename.assign(r.filename, strnlen(r.filename, r.filename_len));
      return e;
    }
    case VT_EV_FORK: {
      vt_fork_event r;
      if (!load(data, size, &r)) return std::nullopt;
      e.kind = Kind::Fork;
      e.child_pid = r.child_pid;
      e.child_tid = r.child_tid;
      e.fork_flags = r.flags;
      e.mm = r.child_mm;
      return e;
    }
    case VT_EV_SNAPSHOT: {
      vt_snapshot_event r;
      if (!load(data, size, &r) || r.hi < r.lo) return std::nullopt;
      e.kind = Kind::Snapshot;
      e.mm = r.mm;
      e.lo = r.lo;
      e.hi = r.hi;
      e.start_brk = r.start_brk;
      e.brk = r.brk;
      e.start_stack = r.start_stack;
      e.count = r.count;
      e.status = r.status;
      e.snap_reason = r.reason;
      e.sc = r.sc;
      return e;
    }
    case VT_EV_EXIT: {
      vt_exit_event r;
      if (!load(data, size, &r)) return std::nullopt;
      e.kind = Kind::Exit;
      e.exit_code = r.exit_code;
      e.exit_flags = r.flags;
      return e;
    }
    default:
      return std::nullopt;
  }
}

}  // namespace vmatrace
