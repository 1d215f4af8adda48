#include "chunk_input.h"

#include <algorithm>

#include "record/codec.h"

namespace vmatrace::fuzz {
namespace {

uint32_t le(const uint8_t* p, int bytes) {
  uint32_t v = 0;
  for (int i = 0; i < bytes; i++) v |= static_cast<uint32_t>(p[i]) << (8 * i);
  return v;
}

// What the writer would put in the chunk header and index for these records.
void describe(const std::string& raw, uint32_t* records, std::string* index) {
  ChunkDecoder dec(reinterpret_cast<const uint8_t*>(raw.data()), raw.size());
  ChunkIndex idx;
  Event e;
  *records = 0;
  while (dec.next(&e)) {
    idx.add(e, kFuzzT0, kFaultBinNs);
    ++*records;
  }
  index->clear();
  idx.encode(index);
}

}  // namespace

std::vector<Segment> split_segments(const uint8_t* data, size_t size) {
  std::vector<Segment> out;
  size_t at = 0;
  while (size - at >= 5) {
    Segment s;
    s.flags = data[at];
    size_t len = std::min<size_t>(le(data + at + 1, 4), size - at - 5);
    s.bytes.assign(reinterpret_cast<const char*>(data + at + 5), len);
    out.push_back(std::move(s));
    at += 5 + len;
  }
  return out;
}

std::string join_segments(const std::vector<Segment>& segments) {
  std::string out;
  for (const Segment& s : segments) {
    out.push_back(static_cast<char>(s.flags));
    for (int i = 0; i < 4; i++) out.push_back(static_cast<char>(s.bytes.size() >> (8 * i)));
    out += s.bytes;
  }
  return out;
}

std::string trace_of(const std::vector<Segment>& segments) {
  TraceMeta meta;
  meta.vmatrace_version = "fuzz";
  meta.kernel_release = "6.18.0";
  meta.clock_monotonic_ns = kFuzzT0;
  meta.target_pid = kFuzzPid;
  meta.command = {"/bin/fuzz"};
  if (!segments.empty()) {
    meta.kernel_snapshots = !(segments[0].flags & 1);
    meta.maps_at_attach = segments[0].bytes;
  }
  std::string out = frame_header(meta);
  ChunkFramer framer;
  for (size_t i = 1; i < segments.size(); i++) {
    std::string raw = segments[i].bytes, index;
    if ((segments[i].flags & 1) && raw.size() >= 2) {
      size_t n = std::min<size_t>(le(reinterpret_cast<const uint8_t*>(raw.data()), 2), raw.size() - 2);
      index = raw.substr(2, n);
      raw.erase(0, 2 + n);
    }
    uint32_t records;
    std::string writers_index;
    describe(raw, &records, &writers_index);
    if (!(segments[i].flags & 1)) index = writers_index;
    if (segments[i].flags & 2) records++;
    if (!framer.frame(raw, records, index, &out)) break;
  }
  return out;
}

}  // namespace vmatrace::fuzz
