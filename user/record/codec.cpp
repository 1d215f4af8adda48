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

uint64_t zigzag_of(int64_t v) { return (static_cast<uint64_t>(v) << 1) ^ static_cast<uint64_t>(v >> 63); }

void put_zigzag(int64_t v, std::string* out) { put_varint(zigzag_of(v), out); }

void put_string(const std::string& s, std::string* out) {
  put_varint(s.size(), out);
  out->append(s);
}

int64_t delta(uint64_t now, uint64_t prev) { return static_cast<int64_t>(now - prev); }

int64_t unzigzag(uint64_t u) { return static_cast<int64_t>((u >> 1) ^ (~(u & 1) + 1)); }

// Low bits of a noisy value are nearly uniform: zstd's Huffman codes a byte
// of 6 such bits in 6 bits, and the next 8 bits, few of them in use, in a
// table of their own. (Split at 8 bits, a fault storm's trace was ~6% larger:
// 83.1 KB against 77.3-80.3 KB for the same 32.8 k faults.)
constexpr int kSplitLowBits = 6;

void put_split(uint64_t v, std::string* low, std::string* second, std::string* rest) {
  low->push_back(static_cast<char>(v & ((1u << kSplitLowBits) - 1)));
  second->push_back(static_cast<char>(v >> kSplitLowBits));
  put_varint(v >> (kSplitLowBits + 8), rest);
}

// The fields of a record of any kind but a fault.
void encode_fields(const Event& e, std::string* out) {
  switch (e.kind) {
    case Kind::Fault:
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
  ByteReader in{data, data + size};
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

std::string join_streams(const std::string (&streams)[kStreamCount], std::vector<size_t>* stream_ends) {
  std::string out;
  size_t total = 0;
  for (const auto& s : streams) {
    put_varint(s.size(), &out);
    total += s.size();
  }
  out.reserve(out.size() + total);
  if (stream_ends) stream_ends->clear();
  for (const auto& s : streams) {
    out += s;
    if (stream_ends && !s.empty()) stream_ends->push_back(out.size());
  }
  return out;
}

void ChunkEncoder::finish(EncodedChunk* out) {
  out->bytes = join_streams(streams_, &out->stream_ends);
  for (auto& s : streams_) s.clear();  // keeps their capacity for the next chunk
  ts_ = addr_ = ip_ = 0;
  tid_ = pid_ = 0;
  have_tid_ = false;
}

std::string ChunkEncoder::finish() {
  EncodedChunk c;
  finish(&c);
  return std::move(c.bytes);
}

size_t ChunkEncoder::size() const {
  size_t n = kStreamCount * 5;  // the prelude: every length at its widest
  for (const auto& s : streams_) n += s.size();
  return n;
}

void ChunkEncoder::encode(const Event& e) {
  std::string* out = &streams_[kRecordStream];
  bool same = have_tid_ && e.tid == tid_ && e.pid == pid_;
  uint8_t head = static_cast<uint8_t>(e.kind) | (same ? kSameTid : 0) |
                 (e.kind == Kind::Stats && e.final_stats ? kFinal : 0);
  out->push_back(static_cast<char>(head));
  if (!same) {
    put_varint(e.tid, out);
    put_zigzag(static_cast<int64_t>(e.tid) - e.pid, out);
    tid_ = e.tid;
    pid_ = e.pid;
    have_tid_ = true;
  }
  if (e.kind == Kind::Fault) {
    auto* s = streams_;
    put_split(zigzag_of(delta(e.ts - e.latency_ns, ts_)), &s[kGapLow], &s[kGapSecond], &s[kGapRest]);
    put_split(e.latency_ns, &s[kLatencyLow], &s[kLatencySecond], &s[kLatencyRest]);
    put_zigzag(delta(e.addr, addr_), &s[kFaultAddr]);
    put_zigzag(delta(e.ip, ip_), &s[kFaultIp]);
    put_varint(e.error_code | (static_cast<uint32_t>(e.fault_flags) << 16), &s[kFaultCodes]);
    put_zigzag(e.stack_id, &s[kFaultStack]);
    ts_ = e.ts;
    addr_ = e.addr;
    ip_ = e.ip;
  } else {
    put_zigzag(delta(e.ts, ts_), out);
    ts_ = e.ts;
    encode_fields(e, out);
  }
}

bool ByteReader::string(std::string* s) {
  uint64_t n;
  if (!varint(&n) || n > static_cast<uint64_t>(end - p)) return false;
  s->assign(reinterpret_cast<const char*>(p), n);
  p += n;
  return true;
}

ChunkDecoder::ChunkDecoder(const uint8_t* data, size_t size) {
  ByteReader prelude{data, data + size};
  uint64_t len[kStreamCount];
  for (auto& n : len)
    if (!prelude.varint(&n)) return;
  const uint8_t* at = prelude.p;
  for (int i = 0; i < kStreamCount; i++) {
    if (len[i] > static_cast<uint64_t>(prelude.end - at)) return;
    s_[i] = {at, at + len[i]};
    at += len[i];
  }
  ok_ = at == prelude.end;
}

bool ChunkDecoder::done() const {
  if (!ok_) return false;
  for (const auto& s : s_)
    if (!s.done()) return false;
  return true;
}

bool ChunkDecoder::split(StreamId low, uint64_t* v) {
  uint8_t b0, b1;
  uint64_t rest;
  if (!s_[low].byte(&b0) || !s_[low + 1].byte(&b1) || !s_[low + 2].varint(&rest) || b0 >> kSplitLowBits ||
      rest >> (64 - kSplitLowBits - 8))
    return false;
  *v = b0 | (uint64_t{b1} << kSplitLowBits) | (rest << (kSplitLowBits + 8));
  return true;
}

bool ChunkDecoder::fault(Event* out) {
  uint64_t gap, lat, codes;
  int64_t da, di, sid;
  if (!split(kGapLow, &gap) || !split(kLatencyLow, &lat) || lat > UINT32_MAX || !s_[kFaultAddr].zigzag(&da) ||
      !s_[kFaultIp].zigzag(&di) || !s_[kFaultCodes].varint(&codes) || !s_[kFaultStack].zigzag(&sid))
    return false;
  Event& e = *out;
  e.ts = ts_ += static_cast<uint64_t>(unzigzag(gap)) + lat;
  e.addr = addr_ += static_cast<uint64_t>(da);
  e.ip = ip_ += static_cast<uint64_t>(di);
  e.latency_ns = static_cast<uint32_t>(lat);
  e.error_code = static_cast<uint16_t>(codes);
  e.fault_flags = static_cast<uint16_t>(codes >> 16);
  e.stack_id = static_cast<int32_t>(sid);
  last_was_fault_ = true;
  return true;
}

bool ChunkDecoder::next(Event* out) {
  ByteReader& in = s_[kRecordStream];
  uint8_t head;
  if (!ok_ || !in.byte(&head)) return false;
  // Most records of a trace are faults of the thread before: they overwrite
  // only the fault's fields (resetting every field costs more than a fault).
  if (last_was_fault_ && head == (static_cast<uint8_t>(Kind::Fault) | kSameTid)) return fault(out);
  uint8_t kind = head & kKindMask;
  if (kind < static_cast<uint8_t>(Kind::Syscall) || kind > static_cast<uint8_t>(Kind::Stack))
    return false;
  bool is_fault = kind == static_cast<uint8_t>(Kind::Fault);
  if (!(is_fault && last_was_fault_)) out->reset();
  last_was_fault_ = false;
  Event& e = *out;
  e.kind = static_cast<Kind>(kind);
  int64_t d;
  uint64_t u, u2;
  if (head & kSameTid) {
    if (!have_tid_) return false;
  } else {
    if (!in.varint(&u) || !in.zigzag(&d) || u > UINT32_MAX) return false;
    tid_ = static_cast<uint32_t>(u);
    pid_ = static_cast<uint32_t>(u - static_cast<uint64_t>(d));  // unsigned: a crafted d must not overflow
    have_tid_ = true;
  }
  e.tid = tid_;
  e.pid = pid_;
  if (is_fault) return fault(out);
  if (!in.zigzag(&d)) return false;
  ts_ += static_cast<uint64_t>(d);
  e.ts = ts_;
  switch (e.kind) {
    case Kind::Fault:
      return false;
    case Kind::Syscall:
      if (!in.varint(&u) || !in.varint(&u2) || !in.zigzag(&d) || !known_syscall(u)) return false;
      e.sc = static_cast<uint16_t>(u);
      e.duration_ns = static_cast<uint32_t>(u2);
      e.ret = d;
      for (auto& a : e.args)
        if (!in.varint(&a)) return false;
      return true;
    case Kind::Vma: {
      uint64_t len, dev, pf, reason;
      if (!in.varint(&e.vma.start) || !in.varint(&len) || !in.varint(&e.vma.flags) || !in.varint(&e.vma.pgoff) ||
          !in.varint(&e.vma.ino) || !in.varint(&dev) || !in.varint(&pf) || !in.varint(&reason) ||
          !in.string(&e.vma.path))
        return false;
      e.vma.end = e.vma.start + len;
      e.vma.dev = static_cast<uint32_t>(dev);
      e.vma.path_flags = static_cast<uint32_t>(pf);
      e.vma.reason = static_cast<uint16_t>(reason);
      return true;
    }
    case Kind::Exec:
      if (!in.varint(&u) || !in.varint(&e.mm) || !in.string(&e.filename)) return false;
      e.old_tid = static_cast<uint32_t>(u);
      return true;
    case Kind::Fork: {
      uint64_t f;
      if (!in.varint(&u) || !in.varint(&u2) || !in.varint(&f) || !in.varint(&e.mm)) return false;
      e.child_pid = static_cast<uint32_t>(u);
      e.child_tid = static_cast<uint32_t>(u2);
      e.fork_flags = static_cast<uint32_t>(f);
      return true;
    }
    case Kind::Stack: {
      int64_t sid;
      if (!in.zigzag(&sid) || !in.varint(&u) || u > VT_STACK_DEPTH_MAX) return false;
      e.stack_id = static_cast<int32_t>(sid);
      uint64_t ip = 0;
      for (uint64_t i = 0; i < u; i++) {
        if (!in.zigzag(&d)) return false;
        ip += static_cast<uint64_t>(d);
        e.stack.push_back(ip);
      }
      return true;
    }
    case Kind::Snapshot: {
      uint64_t count, reason, sc;
      int64_t status;
      if (!in.varint(&e.mm) || !in.varint(&e.lo) || !in.varint(&e.hi) || !in.varint(&e.start_brk) ||
          !in.varint(&e.brk) || !in.varint(&e.start_stack) || !in.varint(&count) || !in.zigzag(&status) ||
          !in.varint(&reason) || !in.varint(&sc) || count > UINT32_MAX)
        return false;
      e.count = static_cast<uint32_t>(count);
      e.status = static_cast<int32_t>(status);
      e.snap_reason = static_cast<uint16_t>(reason);
      e.sc = static_cast<uint16_t>(sc);
      return true;
    }
    case Kind::Exit:
      if (!in.zigzag(&d) || !in.varint(&u)) return false;
      e.exit_code = static_cast<int32_t>(d);
      e.exit_flags = static_cast<uint32_t>(u);
      return true;
    case Kind::Stats:
      if (!in.varint(&u) || u > 64) return false;
      e.lost.by_reason.resize(u);
      for (auto& n : e.lost.by_reason)
        if (!in.varint(&n)) return false;
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
