// Compact encoding of Events inside one trace-file chunk. Each chunk starts
// from a fresh ChunkEncoder, so a chunk decodes on its own: a damaged chunk
// never corrupts the ones before it.
//
// A chunk's bytes are a prelude (the length of each stream, varints) and
// kStreamCount streams. The records stream holds every record in order: a
// kind byte (bit 4 = same tid as the previous record), tid/pid if they
// changed, then for every kind but faults the time as a zig-zag varint delta
// and the per-kind varint fields. A fault's fields go to columns of their own
// instead, one value after another, so that zstd codes each column with a
// table of its own (the writer compresses each stream as a block of its own):
// a fault storm's fields are a few near-constant columns and two noisy ones,
// the time and the latency. The time is stored as the gap between the
// previous record and the fault's entry (ts - latency): the user code that ran
// between two faults, steadier than the time between their ends. Those two
// are split into their low 6 bits, the next 8 and the rest (a varint), so the
// nearly random low bits do not blur the tables of the rest.
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

// The streams of a chunk: the records, then the fault columns.
enum StreamId : uint8_t {
  kRecordStream,
  kGapLow, kGapSecond, kGapRest,           // zig-zag(ts - latency - previous record's ts), split
  kLatencyLow, kLatencySecond, kLatencyRest,
  kFaultAddr, kFaultIp,                    // zig-zag deltas against the previous fault
  kFaultCodes,                             // error_code | fault_flags << 16
  kFaultStack,                             // zig-zag stack id
  kStreamCount
};

// A chunk as the encoder lays it out: its bytes, and where each stream ends in
// them (the framer compresses each as a block of its own).
struct EncodedChunk {
  std::string bytes;
  std::vector<size_t> stream_ends;
};

// The bytes of a chunk made of these streams: the prelude, then the streams.
std::string join_streams(const std::string (&streams)[kStreamCount], std::vector<size_t>* stream_ends = nullptr);

class ChunkEncoder {
 public:
  void encode(const Event& e);
  // At least the bytes finish() would give now.
  size_t size() const;
  // The chunk encoded so far; the encoder starts a new chunk.
  void finish(EncodedChunk* out);
  std::string finish();

 private:
  std::string streams_[kStreamCount];
  uint64_t ts_ = 0, addr_ = 0, ip_ = 0;
  uint32_t tid_ = 0, pid_ = 0;
  bool have_tid_ = false;
};

// Bounds-checked reading of varints and bytes.
struct ByteReader {
  const uint8_t* p = nullptr;
  const uint8_t* end = nullptr;

  bool done() const { return p == end; }
  bool byte(uint8_t* v) {
    if (p == end) return false;
    *v = *p++;
    return true;
  }
  bool varint(uint64_t* v) {
    uint64_t r = 0;
    for (int shift = 0; shift < 64 && p != end; shift += 7) {
      uint8_t b = *p++;
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
};

class ChunkDecoder {
 public:
  // A malformed prelude leaves a decoder whose next() fails at once.
  ChunkDecoder(const uint8_t* data, size_t size);
  // Every stream read to its end.
  bool done() const;
  // false on malformed input (the caller reports the chunk as corrupt). e is
  // reset and refilled: reuse one Event, unchanged between calls, for a whole
  // chunk (a fault after a fault overwrites only the fault's fields).
  bool next(Event* e);
  std::optional<Event> next();

 private:
  bool fault(Event* e);
  bool split(StreamId low, uint64_t* v);
  ByteReader s_[kStreamCount];
  bool ok_ = false;
  uint64_t ts_ = 0, addr_ = 0, ip_ = 0;
  uint32_t tid_ = 0, pid_ = 0;
  bool have_tid_ = false;
  bool last_was_fault_ = false;  // the Event passed to next() holds a fault and nothing else
};

}  // namespace vmatrace
