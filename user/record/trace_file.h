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
#include "record/codec.h"
#include "util/output_file.h"
#include "util/result.h"

struct ZSTD_CCtx_s;
typedef struct ZSTD_CCtx_s ZSTD_CCtx;

namespace vmatrace {

constexpr uint32_t kTraceFormatVersion = 2;
constexpr uint64_t kFaultBinNs = 10'000'000;  // the fault timeline's resolution (10 ms)

struct TraceMeta {
  uint32_t format_version = kTraceFormatVersion;
  std::string vmatrace_version;
  std::string kernel_release;
  std::string hostname;
  uint64_t clock_monotonic_ns = 0;  // CLOCK_MONOTONIC at start: the event clock
  uint64_t clock_realtime_ns = 0;   // CLOCK_REALTIME at the same moment
  uint32_t target_pid = 0;
  std::vector<std::string> command;  // the target's command line
  bool follow_children = false;
  std::string maps_at_attach;  // /proc/PID/maps of the target when tracing began
  std::string vsyscall_line;   // the [vsyscall] line maps prints last, if this machine has one
  bool kernel_snapshots = true;  // the kernel reported VMAs after every change (else: predict)
  uint32_t page_size = 4096;

  std::string to_json() const;
  static Result<TraceMeta> from_json(const std::string& text);
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

  Status write_header(const TraceMeta& meta);
  // Tracing has started: the file takes its real name (and from here on is
  // readable up to its last flushed chunk, whatever happens).
  Status publish();
  Status append(const Event& e);
  Status flush();  // writes the buffered records as one chunk
  Status finish(const LostCounts& lost);  // final stats record, flush, close
  void discard();  // setup failed: remove the unpublished file
  uint64_t bytes_written() const { return bytes_; }
  const std::string& path() const { return out_.path(); }

 private:
  explicit TraceWriter(OutputFile out) : out_(std::move(out)) {}
  Status write_all(const std::string& bytes);

  OutputFile out_;
  std::string raw_;
  uint32_t records_ = 0;
  ChunkEncoder encoder_;
  ChunkIndex index_;
  uint64_t t0_ = 0;  // the header's clock: index times count from it
  std::unique_ptr<ZSTD_CCtx, size_t (*)(ZSTD_CCtx*)> zstd_{nullptr, nullptr};
  uint64_t bytes_ = 0;
};

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

class TraceReader {
 public:
  static Result<TraceReader> open(const std::string& path);
  const TraceMeta& meta() const { return meta_; }
  // Streams every event of every whole chunk to fn.
  Result<ReadSummary> for_each(const std::function<void(const Event&)>& fn);
  // The timeline of the first max_chunks whole chunks, reading their indexes
  // only (a damaged chunk ends it, as it ends for_each).
  Result<FaultTimeline> timeline(uint64_t max_chunks = UINT64_MAX);

 private:
  TraceReader(std::string path, TraceMeta meta, uint64_t data_offset)
      : path_(std::move(path)), meta_(std::move(meta)), data_offset_(data_offset) {}
  std::string path_;
  TraceMeta meta_;
  uint64_t data_offset_;
};

}  // namespace vmatrace
