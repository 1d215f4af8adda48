// The vmatrace trace file.
//
//   "VMATRACE" u32 version u32 meta_len  meta (JSON)  u32 crc32(meta)
//   chunk*:   u32 'VTCK' u32 raw_len u32 comp_len u32 records u32 index_len
//             u32 crc32(index) u32 crc32(payload) u32 crc32(the 28 header bytes before it)
//             index  payload (zstd)
//
// All integers little-endian. Chunks are flushed at least once a second, so a
// recorder killed by SIGKILL or stopped by a full disk leaves a file that
// reads back up to its last whole chunk. A clean end is marked by a final
// Stats record; its absence is reported as a cut-short trace.
//
// A chunk's index (ChunkIndex) is small and not compressed: the complete
// faults per kFaultBinNs bin and the chunk's last moment. Reading only the
// indexes, a report finds the trace's storms and length before it decodes a
// single event, and so does all its work in one pass over the events.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "events/event.h"
#include "events/trace_meta.h"
#include "record/codec.h"
#include "util/output_file.h"
#include "util/result.h"

struct ZSTD_CCtx_s;
typedef struct ZSTD_CCtx_s ZSTD_CCtx;

namespace vmatrace {

constexpr uint64_t kFaultBinNs = 10'000'000;  // the fault timeline's resolution (10 ms)

// What a reader accepts of the sizes a file claims, so that a small file
// (damaged, or crafted to pass its checksums) cannot make it take much
// memory. The writer stays far inside them.
constexpr uint32_t kMaxMetaBytes = 256u << 20;     // the JSON header (maps of a huge process)
constexpr uint32_t kMaxChunkRaw = 4u << 20;        // the writer flushes at 1 MiB, plus one record
constexpr uint32_t kMaxChunkIndex = 4u << 20;      // a few bytes per 10 ms of faults
constexpr uint32_t kMaxCompressionRatio = 1024;    // recorded chunks compress 3-25x, synthetic ones < 800x
// The fault timeline has a bin per 10 ms of the trace: 16 a byte of file
// (a recording writes ~60 bytes a second even when idle), at least 2^22
// (11.6 h, 16 MiB), at most 2^27 (15 days).
constexpr uint64_t kMinTimelineBins = 1ull << 22, kMaxTimelineBins = 1ull << 27, kTimelineBinsPerByte = 16;
uint64_t timeline_bins_allowed(uint64_t file_bytes);

// The file's opening: magic, version, the JSON header and its checksum.
std::string frame_header(const TraceMeta& meta);

// Makes chunks as the file holds them: header, index, zstd payload and the
// checksums over each. The writer's one way to make a chunk; tests and
// fuzzers use it to craft chunks that pass every checksum.
class ChunkFramer {
 public:
  // Appends the chunk of `records` encoded records raw, indexed by index, to
  // out. block_ends: where raw's streams end (EncodedChunk::stream_ends);
  // each is compressed as a zstd block of its own.
  Status frame(const std::string& raw, uint32_t records, const std::string& index, std::string* out,
               const std::vector<size_t>& block_ends = {});
  Status frame(const EncodedChunk& c, uint32_t records, const std::string& index, std::string* out) {
    return frame(c.bytes, records, index, out, c.stream_ends);
  }
  // The two halves of frame(), for chunks kept compressed until they are
  // written (the flight recorder): the payload, then the chunk around it.
  Status compress(const EncodedChunk& c, std::string* comp);
  static void assemble(const std::string& comp, uint32_t raw_len, uint32_t records, const std::string& index,
                       std::string* out);
  // At least the size of the chunk frame() makes of raw_len bytes with an
  // index of index_entries fault bins.
  static uint64_t framed_bound(size_t raw_len, size_t index_entries);

 private:
  // Compresses raw into dst (room for compressed_bound(raw.size()) bytes); its length.
  Result<size_t> compress_into(const std::string& raw, const std::vector<size_t>& block_ends, char* dst);
  static size_t compressed_bound(size_t raw_len);
  std::unique_ptr<ZSTD_CCtx, size_t (*)(ZSTD_CCtx*)> zstd_{nullptr, nullptr};
};

class TraceWriter {
 public:
  // Opens path as an OutputFile (util/output_file.h): a private (0600)
  // temporary file beside it that publish() renames to path, or a character
  // device or FIFO written in place. Until publish() a file at path is left
  // untouched.
  static Result<std::unique_ptr<TraceWriter>> create(const std::string& path);
  ~TraceWriter();
  TraceWriter(const TraceWriter&) = delete;
  TraceWriter& operator=(const TraceWriter&) = delete;

  // Keeps the file within max_bytes (0: no limit), counting the header and
  // the final stats record: a chunk is cut early when the next record might
  // not fit it; when a record cannot fit even a fresh chunk, append() takes
  // nothing more and full() says so (the caller rotates or stops).
  void set_limit(uint64_t max_bytes) { limit_ = max_bytes; }
  bool full() const { return full_; }
  Status write_header(const TraceMeta& meta);
  // Tracing has started: the file takes its real name (and from here on is
  // readable up to its last flushed chunk, whatever happens).
  Status publish();
  Status append(const Event& e);
  Status flush();  // writes the buffered records as one chunk
  // A chunk framed elsewhere (the flight recorder's), after what is buffered.
  Status write_chunk(const std::string& framed);
  // The final stats record (at end_ns: when recording ended, so that the
  // trace spans it even if its last event came before), flush, close.
  Status finish(const LostCounts& lost, uint64_t end_ns = 0);
  void discard();  // setup failed: remove the unpublished file
  uint64_t bytes_written() const { return bytes_; }
  const std::string& path() const { return out_.path(); }
  int fd() const { return out_.fd(); }

 private:
  explicit TraceWriter(OutputFile out) : out_(std::move(out)) {}
  Status write_all(const std::string& bytes);
  // false when e cannot fit the file even in a chunk of its own (flushes what
  // is buffered first if e might not fit with it).
  Result<bool> make_room(const Event& e);
  Status append_unchecked(const Event& e);

  OutputFile out_;
  uint32_t records_ = 0;
  ChunkEncoder encoder_;
  EncodedChunk raw_;  // the chunk being framed, reused
  ChunkIndex index_;
  uint64_t t0_ = 0;  // the header's clock: index times count from it
  ChunkFramer framer_;
  std::string chunk_;  // the framed chunk, reused
  uint64_t bytes_ = 0;
  uint64_t limit_ = 0;
  bool full_ = false;
};

// What the final stats record needs under a size limit: kept free for it.
constexpr uint64_t kFinalStatsReserve = 1024;

// The whole trace's fault timeline, from the chunk indexes alone.
struct FaultTimeline {
  std::vector<uint32_t> bins;  // complete faults per kFaultBinNs since the trace start
  uint64_t last_ns = 0;        // the latest event (end record aside), since the trace start
  uint64_t chunks = 0;         // whole chunks it covers
};

struct ReadSummary {
  uint64_t chunks = 0;
  uint64_t events = 0;
  bool complete = false;  // the final stats record was seen
  std::string warning;    // why reading stopped early, if it did
};

// Reads a trace file. A chunk that is cut short, fails a checksum, claims
// more than the limits above or holds what the writer never writes ends the
// reading there, with a warning: what came before it stands.
class TraceReader {
 public:
  // Errors: the file cannot be opened or is not a regular file, or its
  // header is not a vmatrace header this version reads.
  static Result<TraceReader> open(const std::string& path);
  const TraceMeta& meta() const { return meta_; }
  // Streams every event of every whole chunk to fn.
  Result<ReadSummary> for_each(const std::function<void(const Event&)>& fn);
  // How many times any reader in this process began streaming a file's
  // events: what tests count to hold `report` to one pass.
  static uint64_t event_passes();
  // The timeline of the first max_chunks whole chunks, reading their indexes
  // only (a damaged chunk or index ends it, as it ends for_each).
  Result<FaultTimeline> timeline(uint64_t max_chunks = UINT64_MAX);

 private:
  TraceReader(std::string path, TraceMeta meta, uint64_t data_offset)
      : path_(std::move(path)), meta_(std::move(meta)), data_offset_(data_offset) {}
  std::string path_;
  TraceMeta meta_;
  uint64_t data_offset_;
};

}  // namespace vmatrace
