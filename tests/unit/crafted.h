// Crafted trace files: valid checksums around contents the writer would never
// produce, as a buggy recorder or an attacker could hand them to a report.
#pragma once

#include <cstdint>
#include <fstream>
#include <initializer_list>
#include <string>
#include <vector>

#include "record/codec.h"
#include "record/trace_file.h"

namespace vmatrace {

// LEB128 varints, as the codec and the chunk index store numbers.
inline std::string varints(std::initializer_list<uint64_t> values) {
  std::string out;
  for (uint64_t v : values) {
    while (v >= 0x80) {
      out.push_back(static_cast<char>(v | 0x80));
      v >>= 7;
    }
    out.push_back(static_cast<char>(v));
  }
  return out;
}

struct CraftedChunk {
  std::string raw;    // encoded records
  uint32_t records = 0;
  std::string index;  // an encoded ChunkIndex
};

// The chunk the writer would make of events (t0: the header's clock).
inline CraftedChunk chunk_of(const std::vector<Event>& events, uint64_t t0) {
  CraftedChunk c;
  ChunkEncoder enc;
  ChunkIndex index;
  for (const Event& e : events) {
    enc.encode(e);
    index.add(e, t0, kFaultBinNs);
    c.records++;
  }
  c.raw = enc.finish();
  index.encode(&c.index);
  return c;
}

// Writes meta and chunks to path as a trace file; false if framing failed.
inline bool write_crafted(const std::string& path, const TraceMeta& meta, const std::vector<CraftedChunk>& chunks) {
  std::string out = frame_header(meta);
  ChunkFramer framer;
  for (const auto& c : chunks)
    if (!framer.frame(c.raw, c.records, c.index, &out)) return false;
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  return static_cast<bool>(f << out);
}

}  // namespace vmatrace
