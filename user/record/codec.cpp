#include "record/codec.h"

#include <algorithm>
#include <iterator>

namespace vmatrace {
namespace {

constexpr uint8_t kSameTid = 0x10;
constexpr uint8_t kFinal = 0x20;  // Stats: the recorder finished cleanly
constexpr uint8_t kKindMask = 0x0f;
constexpr uint64_t VT_STACK_DEPTH_MAX = 1024;

void put_varint(uint64_t v, std::string* out) {
  while (v >= 0x80) {
    out->push_back(static_cast<char>(v | 0x80));
    v >>= 7;
  }
  out->push_back(static_cast<char>(v));
}

void put_zigzag(int64_t v, std::string* out) {
  put_varint((static_cast<uint64_t>(v) << 1) ^ static_cast<uint64_t>(v >> 63), out);
}

void put_string(const std::string& s, std::string* out) {
  put_varint(s.size(), out);
  out->append(s);
}

int64_t delta(uint64_t now, uint64_t prev) { return static_cast<int64_t>(now - prev); }

}  // namespace

void ChunkIndex::add(const Event& e, uint64_t t0, uint64_t bin_ns) {
  if (e.kind == Kind::Stats) return;
  uint64_t rel = e.ts > t0 ? e.ts - t0 : 0;
  last_ns = std::max(last_ns, rel);
  if (!e.complete_fault()) return;
  uint64_t bin = rel / bin_ns;
  // Events come nearly in time order: the bin is almost always the last one.
  auto it = fault_bins.end();
  while (it != fault_bins.begin() && std::prev(it)->first > bin) --it;
  if (it != fault_bins.begin() && std::prev(it)->first == bin)
    std::prev(it)->second++;
  else
    fault_bins.insert(it, {bin, 1});
}

size_t encoded_size_bound(const Event& e) {
  // Every fixed field of the widest kind (a snapshot: 11 varints) at its
  // widest (10 bytes), the head and the tid pair; then the variable parts.
  constexpr size_t kFixed = 1 + 3 * 10 + 11 * 10 + 2 * 10;
  return kFixed + e.vma.path.size() + e.filename.size() + 10 * (e.stack.size() + e.lost.by_reason.size());
}

void ChunkIndex::encode(std::string* out) const {
  put_varint(last_ns, out);
  put_varint(fault_bins.size(), out);
  uint64_t prev = 0;
  for (const auto& [bin, n] : fault_bins) {
    put_varint(bin - prev, out);
    put_varint(n, out);
    prev = bin;
  }
}

bool ChunkIndex::decode(const uint8_t* data, size_t size) {
  ChunkDecoder in(data, size);
  uint64_t n, bin = 0;
  fault_bins.clear();
  // Every entry takes at least two bytes: n cannot ask for more memory than the index has bytes.
  if (!in.varint(&last_ns) || !in.varint(&n) || n > size / 2) return false;
  fault_bins.reserve(n);
  for (uint64_t i = 0; i < n; i++) {
    uint64_t d, count;
    if (!in.varint(&d) || !in.varint(&count) || count == 0 || count > UINT32_MAX) return false;
    // Bins strictly ascending, as add() keeps them: a repeated or wrapped bin is damage.
    if ((i > 0 && d == 0) || bin + d < bin) return false;
    bin += d;
    fault_bins.emplace_back(bin, static_cast<uint32_t>(count));
  }
  return in.done();
}

void ChunkEncoder::encode(const Event& e, std::string* out) {
  bool same = have_tid_ && e.tid == tid_ && e.pid == pid_;
  uint8_t head = static_cast<uint8_t>(e.kind) | (same ? kSameTid : 0) |
                 (e.kind == Kind::Stats && e.final_stats ? kFinal : 0);
  out->push_back(static_cast<char>(head));
  put_zigzag(delta(e.ts, ts_), out);
  ts_ = e.ts;
  if (!same) {
    put_varint(e.tid, out);
    put_zigzag(static_cast<int64_t>(e.tid) - e.pid, out);
    tid_ = e.tid;
    pid_ = e.pid;
    have_tid_ = true;
  }
  switch (e.kind) {
    case Kind::Fault:
      put_zigzag(delta(e.addr, addr_), out);
      put_zigzag(delta(e.ip, ip_), out);
      addr_ = e.addr;
      ip_ = e.ip;
      put_varint(e.latency_ns, out);
      put_varint(e.error_code | (static_cast<uint32_t>(e.fault_flags) << 16), out);
      put_zigzag(e.stack_id, out);
      break;
    case Kind::Stack: {
      put_zigzag(e.stack_id, out);
      put_varint(e.stack.size(), out);
      uint64_t prev = 0;
      for (uint64_t ip : e.stack) {
        put_zigzag(delta(ip, prev), out);
        prev = ip;
      }
      break;
    }
    case Kind::Syscall:
      put_varint(e.sc, out);
      put_varint(e.duration_ns, out);
      put_zigzag(e.ret, out);
      for (auto a : e.args) put_varint(a, out);
      break;
    case Kind::Vma:
      put_varint(e.vma.start, out);
      put_varint(e.vma.end - e.vma.start, out);
      put_varint(e.vma.flags, out);
      put_varint(e.vma.pgoff, out);
      put_varint(e.vma.ino, out);
      put_varint(e.vma.dev, out);
      put_varint(e.vma.path_flags, out);
      put_varint(e.vma.reason, out);
      put_string(e.vma.path, out);
      break;
    case Kind::Exec:
      put_varint(e.old_tid, out);
      put_varint(e.mm, out);
      put_string(e.filename, out);
      break;
    case Kind::Fork:
      put_varint(e.child_pid, out);
      put_varint(e.child_tid, out);
      put_varint(e.fork_flags, out);
      put_varint(e.mm, out);
      break;
    case Kind::Snapshot:
      put_varint(e.mm, out);
      put_varint(e.lo, out);
      put_varint(e.hi, out);
      put_varint(e.start_brk, out);
      put_varint(e.brk, out);
      put_varint(e.start_stack, out);
      put_varint(e.count, out);
      put_zigzag(e.status, out);
      put_varint(e.snap_reason, out);
      put_varint(e.sc, out);
      break;
    case Kind::Exit:
      put_zigzag(e.exit_code, out);
      put_varint(e.exit_flags, out);
      break;
    case Kind::Stats:
      put_varint(e.lost.by_reason.size(), out);
      for (auto n : e.lost.by_reason) put_varint(n, out);
      break;
  }
}

bool ChunkDecoder::string(std::string* s) {
  uint64_t n;
  if (!varint(&n) || n > static_cast<uint64_t>(end_ - p_)) return false;
  s->assign(reinterpret_cast<const char*>(p_), n);
  p_ += n;
  return true;
}

namespace {

constexpr ptrdiff_t kMaxFaultRecord = 1 + 6 * 10;  // head and six varints of at most 10 bytes

// A varint known to lie within the buffer; nullptr if it runs past 10 bytes.
inline const uint8_t* unchecked_varint(const uint8_t* p, uint64_t* v) {
  uint64_t b = *p++;
  uint64_t r = b & 0x7f;
  for (int shift = 7; b >= 0x80; shift += 7) {
    if (shift >= 70) return nullptr;
    b = *p++;
    r |= (b & 0x7f) << shift;
  }
  *v = r;
  return p;
}

inline int64_t unzigzag(uint64_t u) { return static_cast<int64_t>((u >> 1) ^ (~(u & 1) + 1)); }

}  // namespace

// Most records of a trace are faults of the thread before: decoded here
// without the bounds checks and branches of the general path.
bool ChunkDecoder::next_fault_fast(Event* out) {
  const uint8_t* p = p_ + 1;
  uint64_t ts, addr, ip, lat, flags, sid;
  if (!(p = unchecked_varint(p, &ts)) || !(p = unchecked_varint(p, &addr)) || !(p = unchecked_varint(p, &ip)) ||
      !(p = unchecked_varint(p, &lat)) || !(p = unchecked_varint(p, &flags)) || !(p = unchecked_varint(p, &sid)))
    return false;
  p_ = p;
  Event& e = *out;
  e.ts = ts_ += static_cast<uint64_t>(unzigzag(ts));
  e.addr = addr_ += static_cast<uint64_t>(unzigzag(addr));
  e.ip = ip_ += static_cast<uint64_t>(unzigzag(ip));
  e.latency_ns = static_cast<uint32_t>(lat);
  e.error_code = static_cast<uint16_t>(flags);
  e.fault_flags = static_cast<uint16_t>(flags >> 16);
  e.stack_id = static_cast<int32_t>(unzigzag(sid));
  return true;
}

bool ChunkDecoder::next(Event* out) {
  if (last_was_fault_ && end_ - p_ >= kMaxFaultRecord && *p_ == (static_cast<uint8_t>(Kind::Fault) | kSameTid))
    return next_fault_fast(out);
  if (p_ == end_) return false;
  uint8_t head = *p_++;
  uint8_t kind = head & kKindMask;
  if (kind < static_cast<uint8_t>(Kind::Syscall) || kind > static_cast<uint8_t>(Kind::Stack))
    return false;
  // Resetting every field costs more than decoding a fault: skip it between faults.
  bool fault = kind == static_cast<uint8_t>(Kind::Fault);
  if (!(fault && last_was_fault_)) out->reset();
  last_was_fault_ = false;
  Event& e = *out;
  e.kind = static_cast<Kind>(kind);
  int64_t d;
  uint64_t u, u2;
  if (!zigzag(&d)) return false;
  ts_ += static_cast<uint64_t>(d);
  e.ts = ts_;
  if (head & kSameTid) {
    if (!have_tid_) return false;
  } else {
    if (!varint(&u) || !zigzag(&d) || u > UINT32_MAX) return false;
    tid_ = static_cast<uint32_t>(u);
    pid_ = static_cast<uint32_t>(u - static_cast<uint64_t>(d));  // unsigned: a crafted d must not overflow
    have_tid_ = true;
  }
  e.tid = tid_;
  e.pid = pid_;
  switch (e.kind) {
    case Kind::Fault: {
      int64_t da, di, sid;
      if (!zigzag(&da) || !zigzag(&di) || !varint(&u) || !varint(&u2) || !zigzag(&sid)) return false;
      e.stack_id = static_cast<int32_t>(sid);
      addr_ += static_cast<uint64_t>(da);
      ip_ += static_cast<uint64_t>(di);
      e.addr = addr_;
      e.ip = ip_;
      e.latency_ns = static_cast<uint32_t>(u);
      e.error_code = static_cast<uint16_t>(u2);
      e.fault_flags = static_cast<uint16_t>(u2 >> 16);
      last_was_fault_ = true;
      return true;
    }
    case Kind::Syscall:
      if (!varint(&u) || !varint(&u2) || !zigzag(&d) || !known_syscall(u)) return false;
      e.sc = static_cast<uint16_t>(u);
      e.duration_ns = static_cast<uint32_t>(u2);
      e.ret = d;
      for (auto& a : e.args)
        if (!varint(&a)) return false;
      return true;
    case Kind::Vma: {
      uint64_t len, dev, pf, reason;
      if (!varint(&e.vma.start) || !varint(&len) || !varint(&e.vma.flags) ||
          !varint(&e.vma.pgoff) || !varint(&e.vma.ino) || !varint(&dev) || !varint(&pf) ||
          !varint(&reason) || !string(&e.vma.path))
        return false;
      e.vma.end = e.vma.start + len;
      e.vma.dev = static_cast<uint32_t>(dev);
      e.vma.path_flags = static_cast<uint32_t>(pf);
      e.vma.reason = static_cast<uint16_t>(reason);
      return true;
    }
    case Kind::Exec:
      if (!varint(&u) || !varint(&e.mm) || !string(&e.filename)) return false;
      e.old_tid = static_cast<uint32_t>(u);
      return true;
    case Kind::Fork: {
      uint64_t f;
      if (!varint(&u) || !varint(&u2) || !varint(&f) || !varint(&e.mm)) return false;
      e.child_pid = static_cast<uint32_t>(u);
      e.child_tid = static_cast<uint32_t>(u2);
      e.fork_flags = static_cast<uint32_t>(f);
      return true;
    }
    case Kind::Stack: {
      int64_t sid;
      if (!zigzag(&sid) || !varint(&u) || u > VT_STACK_DEPTH_MAX) return false;
      e.stack_id = static_cast<int32_t>(sid);
      uint64_t ip = 0;
      for (uint64_t i = 0; i < u; i++) {
        if (!zigzag(&d)) return false;
        ip += static_cast<uint64_t>(d);
        e.stack.push_back(ip);
      }
      return true;
    }
    case Kind::Snapshot: {
      uint64_t count, reason, sc;
      int64_t status;
      if (!varint(&e.mm) || !varint(&e.lo) || !varint(&e.hi) || !varint(&e.start_brk) ||
          !varint(&e.brk) || !varint(&e.start_stack) || !varint(&count) || !zigzag(&status) ||
          !varint(&reason) || !varint(&sc) || count > UINT32_MAX)
        return false;
      e.count = static_cast<uint32_t>(count);
      e.status = static_cast<int32_t>(status);
      e.snap_reason = static_cast<uint16_t>(reason);
      e.sc = static_cast<uint16_t>(sc);
      return true;
    }
    case Kind::Exit:
      if (!zigzag(&d) || !varint(&u)) return false;
      e.exit_code = static_cast<int32_t>(d);
      e.exit_flags = static_cast<uint32_t>(u);
      return true;
    case Kind::Stats:
      if (!varint(&u) || u > 64) return false;
      e.lost.by_reason.resize(u);
      for (auto& n : e.lost.by_reason)
        if (!varint(&n)) return false;
      e.final_stats = head & kFinal;
      return true;
  }
  return false;
}

std::optional<Event> ChunkDecoder::next() {
  Event e;
  last_was_fault_ = false;  // a fresh Event holds nothing of the last fault
  if (!next(&e)) return std::nullopt;
  return e;
}

}  // namespace vmatrace
