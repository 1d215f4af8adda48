// fuzz_trace_chunks' input: the contents of a trace, which the harness wraps
// in valid framing (checksums, zstd, chunk headers) so that every input
// reaches the record decoder, the index checks and the report behind them.
//
// Segments of [u8 flags][u32le length][length bytes] (the last may run short).
// The first is the header: its bytes are the maps at attach; flag 1: the
// kernel gave no snapshots (the model predicts from syscalls). Each other is
// a chunk of encoded records: flag 1: its bytes begin with [u16le n][n bytes]
// of index (else the index is the writer's, made from the records); flag 2:
// the chunk header's record count is one more than the records decode to.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "record/trace_file.h"

namespace vmatrace::fuzz {

constexpr uint64_t kFuzzT0 = 1'000'000'000;
constexpr uint32_t kFuzzPid = 4242;

struct Segment {
  uint8_t flags = 0;
  std::string bytes;
};

std::vector<Segment> split_segments(const uint8_t* data, size_t size);
std::string join_segments(const std::vector<Segment>& segments);
// The trace file the segments describe.
std::string trace_of(const std::vector<Segment>& segments);

}  // namespace vmatrace::fuzz
