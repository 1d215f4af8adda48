// Compact encoding of Events inside one trace-file chunk. Each chunk starts
// from a fresh ChunkCodec, so a chunk decodes on its own: a damaged chunk
// never corrupts the ones before it.
//
// Record: a kind byte (bit 4 = same tid as the previous record), the time as a
// zig-zag varint delta, tid/pid if they changed, then per-kind varint fields.
// Fault addresses and ips are deltas against the previous fault, which makes a
// typical fault 8-10 bytes before compression.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "events/event.h"

namespace vmatrace {

// A chunk's index: what a report needs to know of its events before reading
// them (see trace_file.h). Times count from the trace header's clock.
struct ChunkIndex {
  uint64_t last_ns = 0;  // the latest event's time (end record aside)
  std::vector<std::pair<uint64_t, uint32_t>> fault_bins;  // (kFaultBinNs bin, complete faults), by bin

  // Takes e into account (t0: the header's clock).
  void add(const Event& e, uint64_t t0, uint64_t bin_ns);
  void encode(std::string* out) const;
  // false on malformed input.
  bool decode(const uint8_t* data, size_t size);
};

// At least as many bytes as ChunkEncoder::encode() appends for e, whatever
// came before it: what a size limit checks before a record is taken.
size_t encoded_size_bound(const Event& e);

class ChunkEncoder {
 public:
  void encode(const Event& e, std::string* out);

 private:
  uint64_t ts_ = 0, addr_ = 0, ip_ = 0;
  uint32_t tid_ = 0, pid_ = 0;
  bool have_tid_ = false;
};

class ChunkDecoder {
 public:
  ChunkDecoder(const uint8_t* data, size_t size) : p_(data), end_(data + size) {}
  bool done() const { return p_ == end_; }
  // false on malformed input (the caller reports the chunk as corrupt). e is
  // reset and refilled: reuse one Event, unchanged between calls, for a whole
  // chunk (a fault after a fault overwrites only the fault's fields).
  bool next(Event* e);
  std::optional<Event> next();

 private:
  friend struct ChunkIndex;
  bool next_fault_fast(Event* e);
  bool varint(uint64_t* v) {
    uint64_t r = 0;
    for (int shift = 0; shift < 64 && p_ != end_; shift += 7) {
      uint8_t b = *p_++;
      r |= static_cast<uint64_t>(b & 0x7f) << shift;
      if (!(b & 0x80)) {
        *v = r;
        return true;
      }
    }
    return false;
  }
  bool zigzag(int64_t* v) {
    uint64_t u;
    if (!varint(&u)) return false;
    *v = static_cast<int64_t>((u >> 1) ^ (~(u & 1) + 1));
    return true;
  }
  bool string(std::string* s);

  const uint8_t* p_;
  const uint8_t* end_;
  uint64_t ts_ = 0, addr_ = 0, ip_ = 0;
  uint32_t tid_ = 0, pid_ = 0;
  bool have_tid_ = false;
  bool last_was_fault_ = false;  // the Event passed to next() holds a fault and nothing else
};

}  // namespace vmatrace
