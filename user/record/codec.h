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

#include "events/event.h"

namespace vmatrace {

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
  // reset and refilled: reuse one Event for a whole chunk.
  bool next(Event* e);
  std::optional<Event> next();

 private:
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
};

}  // namespace vmatrace
