#include "record/trace_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>
#include <zstd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <limits>
#include <nlohmann/json.hpp>

#include "util/escape.h"

namespace vmatrace {
namespace {

constexpr char kMagic[8] = {'V', 'M', 'A', 'T', 'R', 'A', 'C', 'E'};
constexpr uint32_t kChunkMagic = 0x4b435456;  // "VTCK"
constexpr size_t kChunkHeader = 32;
constexpr int kZstdLevel = 1;  // fast: the recorder compresses while the target runs

void put_u32(uint8_t* p, uint32_t v) {
  for (int i = 0; i < 4; i++) p[i] = static_cast<uint8_t>(v >> (8 * i));
}

uint32_t get_u32(const uint8_t* p) {
  return p[0] | (p[1] << 8) | (p[2] << 16) | (static_cast<uint32_t>(p[3]) << 24);
}

uint32_t crc(const void* data, size_t n) {
  return static_cast<uint32_t>(crc32(0, static_cast<const Bytef*>(data), static_cast<uInt>(n)));
}

}  // namespace

Result<std::unique_ptr<TraceWriter>> TraceWriter::create(const std::string& path) {
  auto out = OutputFile::open(path);
  if (!out) return make_error(out.error());
  return std::unique_ptr<TraceWriter>(new TraceWriter(std::move(*out)));
}

Status TraceWriter::publish() { return out_.publish(); }

TraceWriter::~TraceWriter() { discard(); }

Status TraceWriter::write_all(const std::string& bytes) {
  if (auto st = out_.write(bytes); !st) return st;
  bytes_ += bytes.size();
  return Ok{};
}

std::string frame_header(const TraceMeta& meta) {
  std::string json = meta.to_json();
  std::string buf(kMagic, sizeof(kMagic));
  uint8_t w[8];
  put_u32(w, meta.format_version);
  put_u32(w + 4, static_cast<uint32_t>(json.size()));
  buf.append(reinterpret_cast<char*>(w), 8);
  buf += json;
  put_u32(w, crc(json.data(), json.size()));
  buf.append(reinterpret_cast<char*>(w), 4);
  return buf;
}

size_t ChunkFramer::compressed_bound(size_t raw_len) {
  constexpr size_t kBlockHeader = 3;  // each flush may end one block more than ZSTD_compressBound counts
  return ZSTD_compressBound(raw_len) + kStreamCount * kBlockHeader;
}

uint64_t ChunkFramer::framed_bound(size_t raw_len, size_t index_entries) {
  constexpr uint64_t kIndexHead = 20, kIndexEntry = 15;  // varints at their widest
  return kChunkHeader + kIndexHead + kIndexEntry * index_entries + compressed_bound(raw_len);
}

Result<size_t> ChunkFramer::compress_into(const std::string& raw, const std::vector<size_t>& block_ends, char* dst) {
  if (!zstd_) zstd_ = {ZSTD_createCCtx(), ZSTD_freeCCtx};
  ZSTD_CCtx* z = zstd_.get();
  if (!z) return make_error("compressing a trace chunk failed (out of memory)");
  size_t err = ZSTD_CCtx_reset(z, ZSTD_reset_session_only);
  if (!ZSTD_isError(err)) err = ZSTD_CCtx_setParameter(z, ZSTD_c_compressionLevel, kZstdLevel);
  if (!ZSTD_isError(err)) err = ZSTD_CCtx_setPledgedSrcSize(z, raw.size());
  ZSTD_outBuffer out{dst, compressed_bound(raw.size()), 0};
  size_t from = 0;
  bool whole = true;
  // Up to `to`, then a block boundary (or the frame's end). dst has room for
  // everything: each call takes all its input and flushes all it made.
  auto upto = [&](size_t to, ZSTD_EndDirective how) {
    ZSTD_inBuffer in{raw.data() + from, to - from, 0};
    size_t left = ZSTD_compressStream2(z, &out, &in, how);
    whole = whole && (ZSTD_isError(left) || (left == 0 && in.pos == in.size));
    from = to;
    return left;
  };
  for (size_t end : block_ends)
    if (!ZSTD_isError(err) && whole && end > from && end < raw.size()) err = upto(end, ZSTD_e_flush);
  if (!ZSTD_isError(err) && whole) err = upto(raw.size(), ZSTD_e_end);
  if (ZSTD_isError(err)) return make_error(std::string("compressing a trace chunk failed: ") + ZSTD_getErrorName(err));
  if (!whole) return make_error("compressing a trace chunk failed: output larger than its bound");
  return out.pos;
}

Status ChunkFramer::compress(const EncodedChunk& c, std::string* comp) {
  comp->resize(compressed_bound(c.bytes.size()));
  auto n = compress_into(c.bytes, c.stream_ends, comp->data());
  if (!n) return make_error(n.error());
  comp->resize(*n);
  return Ok{};
}

void ChunkFramer::assemble(const std::string& comp, uint32_t raw_len, uint32_t records, const std::string& index,
                           std::string* out) {
  uint8_t hdr[kChunkHeader];
  put_u32(hdr, kChunkMagic);
  put_u32(hdr + 4, raw_len);
  put_u32(hdr + 8, static_cast<uint32_t>(comp.size()));
  put_u32(hdr + 12, records);
  put_u32(hdr + 16, static_cast<uint32_t>(index.size()));
  put_u32(hdr + 20, crc(index.data(), index.size()));
  put_u32(hdr + 24, crc(comp.data(), comp.size()));
  put_u32(hdr + 28, crc(hdr, 28));
  out->append(reinterpret_cast<char*>(hdr), kChunkHeader);
  *out += index;
  *out += comp;
}

Status ChunkFramer::frame(const std::string& raw, uint32_t records, const std::string& index, std::string* out,
                          const std::vector<size_t>& block_ends) {
  const size_t at = out->size();
  out->resize(at + kChunkHeader + index.size() + compressed_bound(raw.size()));
  auto* hdr = reinterpret_cast<uint8_t*>(out->data() + at);
  uint8_t* payload = hdr + kChunkHeader + index.size();
  auto comp = compress_into(raw, block_ends, reinterpret_cast<char*>(payload));
  if (!comp) {
    out->resize(at);
    return make_error(comp.error());
  }
  const size_t comp_len = *comp;
  std::memcpy(hdr + kChunkHeader, index.data(), index.size());
  put_u32(hdr, kChunkMagic);
  put_u32(hdr + 4, static_cast<uint32_t>(raw.size()));
  put_u32(hdr + 8, static_cast<uint32_t>(comp_len));
  put_u32(hdr + 12, records);
  put_u32(hdr + 16, static_cast<uint32_t>(index.size()));
  put_u32(hdr + 20, crc(index.data(), index.size()));
  put_u32(hdr + 24, crc(payload, comp_len));
  put_u32(hdr + 28, crc(hdr, 28));
  out->resize(at + kChunkHeader + index.size() + comp_len);
  return Ok{};
}

Status TraceWriter::write_header(const TraceMeta& meta) {
  t0_ = meta.clock_monotonic_ns;
  std::string buf = frame_header(meta);
  // Room for a few records at least: a file of a header alone records nothing.
  constexpr uint64_t kMinRoom = 4096;
  if (limit_ && buf.size() + kFinalStatsReserve + kMinRoom > limit_)
    return make_error("a trace size limit of " + std::to_string(limit_) + " bytes leaves no room after the " +
                      std::to_string(buf.size()) + "-byte header (its VMA set)");
  return write_all(buf);
}

Result<bool> TraceWriter::make_room(const Event& e) {
  if (full_) return false;
  if (limit_ == 0) return true;
  const uint64_t room = limit_ > bytes_ + kFinalStatsReserve ? limit_ - bytes_ - kFinalStatsReserve : 0;
  const size_t rec = encoded_size_bound(e);
  // A new fault bin at most: its index entry.
  const size_t bins = index_.fault_bins.size() + 1;
  if (ChunkFramer::framed_bound(encoder_.size() + rec, bins) <= room) return true;
  if (records_ > 0) {
    if (auto st = flush(); !st) return make_error(st.error());
    return make_room(e);
  }
  full_ = true;
  return false;
}

Status TraceWriter::append(const Event& e) {
  auto room = make_room(e);
  if (!room) return make_error(room.error());
  if (!*room) return Ok{};
  return append_unchecked(e);
}

Status TraceWriter::append_unchecked(const Event& e) {
  encoder_.encode(e);
  index_.add(e, t0_, kFaultBinNs);
  records_++;
  if (encoder_.size() >= (1u << 20)) return flush();
  return Ok{};
}

Status TraceWriter::flush() {
  if (records_ == 0) return Ok{};
  std::string index;
  index_.encode(&index);
  chunk_.clear();
  encoder_.finish(&raw_);
  if (auto st = framer_.frame(raw_, records_, index, &chunk_); !st) return st;
  records_ = 0;
  index_ = ChunkIndex();
  return write_all(chunk_);
}

Status TraceWriter::write_chunk(const std::string& framed) {
  if (auto st = flush(); !st) return st;
  return write_all(framed);
}

Status TraceWriter::finish(const LostCounts& lost, uint64_t end_ns) {
  if (auto st = publish(); !st) return st;
  Event stats;
  stats.kind = Kind::Stats;
  stats.ts = end_ns;
  stats.lost = lost;
  stats.final_stats = true;
  // Within the limit still: make_room() kept kFinalStatsReserve free for it.
  auto st = append_unchecked(stats);
  if (st) st = flush();
  if (st) st = out_.finish();
  out_.discard();  // closes, if finish() failed before it could
  return st;
}

void TraceWriter::discard() { out_.discard(); }

uint64_t timeline_bins_allowed(uint64_t file_bytes) {
  uint64_t bins = file_bytes > kMaxTimelineBins / kTimelineBinsPerByte ? kMaxTimelineBins
                                                                        : file_bytes * kTimelineBinsPerByte;
  return std::clamp(bins, kMinTimelineBins, kMaxTimelineBins);
}

namespace {

// A file open for reading at given offsets. Opened without blocking (a FIFO
// would wait for a writer) and read only if it is a regular file.
class FileIn {
 public:
  explicit FileIn(const std::string& path) : fd_(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK)) {
    struct stat st;
    if (fd_ >= 0 && ::fstat(fd_, &st) == 0) {
      regular_ = S_ISREG(st.st_mode);
      size_ = static_cast<uint64_t>(st.st_size);
    }
  }
  ~FileIn() {
    if (fd_ >= 0) ::close(fd_);
  }
  FileIn(const FileIn&) = delete;
  FileIn& operator=(const FileIn&) = delete;

  bool open() const { return fd_ >= 0; }
  bool regular() const { return regular_; }
  uint64_t size() const { return size_; }
  // Exactly n bytes at off; false if the file ends before.
  bool read_at(uint64_t off, void* buf, size_t n) const {
    auto* p = static_cast<char*>(buf);
    while (n > 0) {
      ssize_t got = ::pread(fd_, p, n, static_cast<off_t>(off));
      if (got < 0 && errno == EINTR) continue;
      if (got <= 0) return false;
      p += got;
      off += static_cast<uint64_t>(got);
      n -= static_cast<size_t>(got);
    }
    return true;
  }

 private:
  int fd_;
  bool regular_ = false;
  uint64_t size_ = 0;
};

Status open_regular(const FileIn& f, const std::string& path) {
  if (!f.open()) return make_error("cannot open " + path + ": " + strerror(errno));
  if (!f.regular()) return make_error("cannot read " + path + ": not a regular file");
  return Ok{};
}

}  // namespace

Result<TraceReader> TraceReader::open(const std::string& path) {
  FileIn f(path);
  if (auto st = open_regular(f, path); !st) return make_error(st.error());
  char magic[8];
  uint8_t w[8];
  if (!f.read_at(0, magic, 8) || std::memcmp(magic, kMagic, 8) != 0)
    return make_error(path + " is not a vmatrace trace file");
  if (!f.read_at(8, w, 8)) return make_error(path + ": header cut short");
  uint32_t version = get_u32(w), meta_len = get_u32(w + 4);
  if (version != kTraceFormatVersion)
    return make_error(path + ": trace format version " + std::to_string(version) +
                      " is not supported (this vmatrace reads version " +
                      std::to_string(kTraceFormatVersion) + ")");
  if (meta_len > kMaxMetaBytes) return make_error(path + ": corrupt header (length)");
  const uint64_t data_offset = 8 + 8 + uint64_t{meta_len} + 4;
  if (data_offset > f.size()) return make_error(path + ": header cut short");  // before allocating it
  std::string json(meta_len, '\0');
  if (!f.read_at(16, json.data(), meta_len) || !f.read_at(16 + meta_len, w, 4))
    return make_error(path + ": header cut short");
  if (get_u32(w) != crc(json.data(), json.size())) return make_error(path + ": corrupt header (checksum)");
  auto meta = TraceMeta::from_json(json);
  if (!meta) return make_error(path + ": corrupt header (" + meta.error() + ")");
  return TraceReader(path, std::move(*meta), data_offset);
}

namespace {

struct ChunkHeader {
  uint32_t raw_len = 0, comp_len = 0, records = 0, index_len = 0, index_crc = 0, payload_crc = 0;
};

// The chunks of a trace file, one after another. Every size a chunk claims
// is checked against the limits and against what the file still holds
// before anything is allocated for it, and its index against itself.
class ChunkStream {
 public:
  ChunkStream(const FileIn& f, uint64_t offset)
      : f_(f), next_(offset), size_(f.size()), max_bins_(timeline_bins_allowed(f.size())) {}

  // The next chunk's header and index. false at the end of the file (why()
  // empty) or at a chunk cut short or damaged (why() says how).
  bool next();
  // The chunk's records, decompressed; false if damaged.
  bool payload(ZSTD_DCtx* zstd, std::string* raw);

  const ChunkHeader& header() const { return c_; }
  const ChunkIndex& index() const { return index_; }
  uint64_t offset() const { return at_; }  // where the chunk starts
  const std::string& why() const { return why_; }

 private:
  bool fail(const char* why) {
    why_ = why;
    return false;
  }
  // n bytes at off that the checksum vouches for.
  bool read_checked(uint64_t off, uint32_t n, uint32_t want_crc, std::string* buf);
  bool index_fits() const;

  const FileIn& f_;
  uint64_t at_ = 0, next_, size_, max_bins_;
  ChunkHeader c_;
  ChunkIndex index_;
  std::string buf_;
  std::string why_;
};

bool ChunkStream::next() {
  at_ = next_;
  if (at_ >= size_) return false;
  uint8_t h[kChunkHeader];
  if (size_ - at_ < kChunkHeader || !f_.read_at(at_, h, kChunkHeader)) return fail("file cut short");
  c_ = {get_u32(h + 4), get_u32(h + 8), get_u32(h + 12), get_u32(h + 16), get_u32(h + 20), get_u32(h + 24)};
  if (get_u32(h) != kChunkMagic || get_u32(h + 28) != crc(h, 28)) return fail("corrupt chunk header");
  if (c_.raw_len > kMaxChunkRaw || c_.comp_len > ZSTD_COMPRESSBOUND(kMaxChunkRaw) ||
      c_.index_len > kMaxChunkIndex || c_.raw_len > uint64_t{kMaxCompressionRatio} * c_.comp_len)
    return fail("corrupt chunk header (sizes beyond what vmatrace writes)");
  const uint64_t body = uint64_t{c_.index_len} + c_.comp_len;
  if (size_ - at_ - kChunkHeader < body) return fail("file cut short");
  if (!read_checked(at_ + kChunkHeader, c_.index_len, c_.index_crc, &buf_)) return false;
  if (!index_.decode(reinterpret_cast<const uint8_t*>(buf_.data()), buf_.size()) || !index_fits())
    return fail("corrupt chunk index");
  next_ = at_ + kChunkHeader + body;
  return true;
}

// What the writer's index always is: no fault after the chunk's last moment,
// no more faults than records, and no longer than the file could have recorded.
bool ChunkStream::index_fits() const {
  if (index_.last_ns / kFaultBinNs >= max_bins_) return false;
  if (index_.fault_bins.empty()) return true;
  if (index_.fault_bins.back().first > index_.last_ns / kFaultBinNs) return false;
  uint64_t faults = 0;
  for (const auto& [bin, n] : index_.fault_bins) faults += n;
  return faults <= c_.records;
}

bool ChunkStream::read_checked(uint64_t off, uint32_t n, uint32_t want_crc, std::string* buf) {
  buf->resize(n);
  if (!f_.read_at(off, buf->data(), n)) return fail("file cut short");
  if (crc(buf->data(), n) != want_crc) return fail("corrupt chunk (checksum)");
  return true;
}

bool ChunkStream::payload(ZSTD_DCtx* zstd, std::string* raw) {
  std::string& comp = buf_;
  if (!read_checked(at_ + kChunkHeader + c_.index_len, c_.comp_len, c_.payload_crc, &comp)) return false;
  raw->resize(c_.raw_len);
  size_t got = ZSTD_decompressDCtx(zstd, raw->data(), raw->size(), comp.data(), comp.size());
  if (ZSTD_isError(got) || got != c_.raw_len) return fail("corrupt chunk (compression)");
  return true;
}

struct ZstdDctx {
  ZSTD_DCtx* ctx = ZSTD_createDCtx();
  ~ZstdDctx() { ZSTD_freeDCtx(ctx); }
  ZstdDctx() = default;
  ZstdDctx(const ZstdDctx&) = delete;
  ZstdDctx& operator=(const ZstdDctx&) = delete;
};

}  // namespace

namespace {
std::atomic<uint64_t> g_event_passes{0};
}  // namespace

uint64_t TraceReader::event_passes() { return g_event_passes.load(); }

Result<ReadSummary> TraceReader::for_each(const std::function<void(const Event&)>& fn) {
  g_event_passes++;
  FileIn f(path_);
  if (auto st = open_regular(f, path_); !st) return make_error(st.error());
  ZstdDctx zstd;
  if (!zstd.ctx) return make_error("reading " + path_ + ": out of memory");
  ChunkStream chunks(f, data_offset_);
  ReadSummary sum;
  std::string raw, why;
  Event event;
  while (chunks.next()) {
    if (!chunks.payload(zstd.ctx, &raw)) break;
    // The checksum vouches for the bytes; a record that still does not decode
    // (a writer bug) ends reading there. One Event is reused for every record.
    ChunkDecoder dec(reinterpret_cast<const uint8_t*>(raw.data()), raw.size());
    uint32_t decoded = 0;
    while (dec.next(&event)) {
      if (event.kind == Kind::Stats && event.final_stats) sum.complete = true;
      sum.events++;
      decoded++;
      fn(event);
    }
    if (!dec.done() || decoded != chunks.header().records) {
      why = "corrupt chunk (records)";
      break;
    }
    sum.chunks++;
  }
  if (why.empty()) why = chunks.why();
  if (!why.empty())
    sum.warning = why + " at chunk " + std::to_string(sum.chunks + 1) + " (offset " +
                  std::to_string(chunks.offset()) + ")";
  if (!sum.complete && sum.warning.empty()) sum.warning = "trace has no end record (recorder was killed?)";
  return sum;
}

Result<FaultTimeline> TraceReader::timeline(uint64_t max_chunks) {
  FileIn f(path_);
  if (auto st = open_regular(f, path_); !st) return make_error(st.error());
  ChunkStream chunks(f, data_offset_);
  FaultTimeline t;
  while (t.chunks < max_chunks && chunks.next()) {
    const ChunkIndex& index = chunks.index();
    t.last_ns = std::max(t.last_ns, index.last_ns);
    // Bins ascend and fit the file's allowance (ChunkStream checked): the last is the largest.
    if (!index.fault_bins.empty() && index.fault_bins.back().first >= t.bins.size())
      t.bins.resize(index.fault_bins.back().first + 1, 0);
    for (const auto& [bin, n] : index.fault_bins)
      t.bins[bin] = static_cast<uint32_t>(std::min<uint64_t>(uint64_t{t.bins[bin]} + n, UINT32_MAX));
    t.chunks++;
  }
  return t;
}

}  // namespace vmatrace
