// The flight recorder (--flight SECONDS): the recording kept in memory as a
// ring of compressed chunks, each of at most a second or 1 MiB of records,
// and each knowing the VMA set at its start (file_start.h). Chunks whose
// every event is older than the window are dropped, and the oldest go too
// while the ring holds more than its byte budget, so memory stays bounded by
// the window (and the budget), not by the recording's length.
//
// dump() writes the chunks from a moment on as one self-contained trace:
// the header of the first chunk's start (its clock, the target's VMAs), a
// chunk of every process's whole VMA set, the recorded chunks as they are
// (their indexes moved to the dump's clock) and a final stats record with
// what was lost since the first chunk began.
#pragma once

#include <cstdint>
#include <deque>
#include <string>

#include "record/codec.h"
#include "record/file_start.h"
#include "record/trace_file.h"
#include "util/result.h"

namespace vmatrace {

class FlightRing {
 public:
  static constexpr uint64_t kChunkNs = 1'000'000'000;
  static constexpr size_t kChunkRaw = 1u << 20;
  static constexpr uint64_t kDefaultBudget = 256ull << 20;

  // keep_ns: how far back dumps may reach.
  FlightRing(uint64_t keep_ns, FileStartFn start, uint64_t budget_bytes = kDefaultBudget)
      : keep_ns_(keep_ns), budget_(budget_bytes), start_fn_(std::move(start)) {}

  // Before the model applies e. Stats records are not kept: a dump writes
  // its own from the counters it is given.
  Status append(const Event& e);
  // About once a second: ends a chunk open for kChunkNs, drops chunks that
  // fell out of the window. lost: the recording's counters now.
  Status tick(uint64_t now, const LostCounts& lost);

  struct Dump {
    std::string path;
    uint64_t from_ns = 0;  // the first moment it holds
    uint64_t events = 0;
  };
  // The chunks holding anything at or after from_ns (and everything since)
  // to path, written by OutputFile's rules.
  Result<Dump> dump(const std::string& path, uint64_t from_ns, uint64_t now, const LostCounts& lost,
                    const std::string& trigger, uint64_t window_ms);

  size_t chunks() const { return ring_.size(); }
  uint64_t bytes() const { return bytes_; }
  uint64_t dropped_for_budget() const { return dropped_for_budget_; }

 private:
  struct Chunk {
    uint64_t start_ns = 0, last_ns = 0;
    TraceMeta meta;  // a file starting here: its header
    std::string state, comp;  // compressed: the VMA sets, the records
    uint32_t state_raw = 0, state_records = 0, raw_len = 0, records = 0;
    ChunkIndex index;  // times since boot (0), not since a header
    LostCounts lost_at_start;
    uint64_t size() const { return state.size() + comp.size() + meta.maps_at_attach.size(); }
  };

  Status begin_chunk(uint64_t ts);
  Status close_chunk(uint64_t ts);
  void trim(uint64_t now);

  uint64_t keep_ns_, budget_;
  FileStartFn start_fn_;
  std::deque<Chunk> ring_;
  uint64_t bytes_ = 0;
  uint64_t dropped_for_budget_ = 0;
  // The chunk being filled.
  Chunk open_;
  bool have_open_ = false;
  EncodedChunk raw_;  // a chunk being compressed, reused
  ChunkEncoder encoder_;
  ChunkFramer framer_;
  LostCounts lost_;
};

// The index of a chunk recorded against clock 0, against clock t0 (a whole
// number of kFaultBinNs): bins before t0 fold into bin 0.
ChunkIndex rebase_index(const ChunkIndex& abs, uint64_t t0);

}  // namespace vmatrace
