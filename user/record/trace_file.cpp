#include "record/trace_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>
#include <zstd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>

#include "util/escape.h"

namespace vmatrace {
namespace {

constexpr char kMagic[8] = {'V', 'M', 'A', 'T', 'R', 'A', 'C', 'E'};
constexpr uint32_t kChunkMagic = 0x4b435456;  // "VTCK"
constexpr size_t kChunkHeader = 32;
constexpr uint32_t kMaxIndex = 16u << 20;
constexpr uint64_t kMaxBins = 1ull << 27;  // 15 days of timeline: beyond, an index is damaged
constexpr int kZstdLevel = 1;  // fast: the recorder compresses while the target runs
constexpr uint32_t kMaxChunk = 64u << 20;
constexpr uint32_t kMaxMeta = 256u << 20;

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

// Names are bytes (a command line, a hostname, maps text naming files): the
// header carries them as dump_json does, and reads them back exactly.
std::string TraceMeta::to_json() const {
  nlohmann::json j = {
      {"format_version", format_version},   {"vmatrace_version", vmatrace_version},
      {"kernel_release", kernel_release},   {"hostname", hostname},
      {"clock", "CLOCK_MONOTONIC"},          {"clock_monotonic_ns", clock_monotonic_ns},
      {"clock_realtime_ns", clock_realtime_ns}, {"target_pid", target_pid},
      {"command", command},                  {"follow_children", follow_children},
      {"page_size", page_size},              {"maps_at_attach", maps_at_attach},
      {"vsyscall_line", vsyscall_line},     {"kernel_snapshots", kernel_snapshots}};
  return dump_json(j);
}

Result<TraceMeta> TraceMeta::from_json(const std::string& text) {
  auto j = nlohmann::json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return make_error("header is not valid JSON");
  TraceMeta m;
  try {
    m.format_version = j.at("format_version").get<uint32_t>();
    m.clock_monotonic_ns = j.value("clock_monotonic_ns", uint64_t{0});
    m.clock_realtime_ns = j.value("clock_realtime_ns", uint64_t{0});
    m.target_pid = j.value("target_pid", 0u);
    m.follow_children = j.value("follow_children", false);
    m.page_size = j.value("page_size", 4096u);
    m.kernel_snapshots = j.value("kernel_snapshots", true);
  } catch (const nlohmann::json::exception& e) {
    return make_error(std::string("header field has the wrong type: ") + e.what());
  }
  for (auto [key, field] : {std::pair{"vmatrace_version", &m.vmatrace_version},
                            {"kernel_release", &m.kernel_release},
                            {"hostname", &m.hostname},
                            {"maps_at_attach", &m.maps_at_attach},
                            {"vsyscall_line", &m.vsyscall_line}}) {
    auto bytes = json_bytes(j, key);
    if (!bytes) return make_error(std::string("header field ") + key + " has the wrong type");
    *field = std::move(*bytes);
  }
  auto command = json_bytes_list(j, "command");
  if (!command) return make_error("header field command has the wrong type");
  m.command = std::move(*command);
  return m;
}

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

Status TraceWriter::write_header(const TraceMeta& meta) {
  t0_ = meta.clock_monotonic_ns;
  std::string json = meta.to_json();
  std::string buf(kMagic, sizeof(kMagic));
  uint8_t w[8];
  put_u32(w, meta.format_version);
  put_u32(w + 4, static_cast<uint32_t>(json.size()));
  buf.append(reinterpret_cast<char*>(w), 8);
  buf += json;
  put_u32(w, crc(json.data(), json.size()));
  buf.append(reinterpret_cast<char*>(w), 4);
  return write_all(buf);
}

Status TraceWriter::append(const Event& e) {
  encoder_.encode(e, &raw_);
  index_.add(e, t0_, kFaultBinNs);
  records_++;
  if (raw_.size() >= (1u << 20)) return flush();
  return Ok{};
}

Status TraceWriter::flush() {
  if (records_ == 0) return Ok{};
  if (!zstd_) zstd_ = {ZSTD_createCCtx(), ZSTD_freeCCtx};
  if (!zstd_.get()) return make_error("compressing a trace chunk failed (out of memory)");
  std::string index;
  index_.encode(&index);
  size_t bound = ZSTD_compressBound(raw_.size());
  std::string out(kChunkHeader + index.size() + bound, '\0');
  auto* hdr = reinterpret_cast<uint8_t*>(out.data());
  uint8_t* payload = hdr + kChunkHeader + index.size();
  size_t comp_len = ZSTD_compressCCtx(zstd_.get(), payload, bound, raw_.data(), raw_.size(), kZstdLevel);
  if (ZSTD_isError(comp_len))
    return make_error(std::string("compressing a trace chunk failed: ") + ZSTD_getErrorName(comp_len));
  std::memcpy(hdr + kChunkHeader, index.data(), index.size());
  put_u32(hdr, kChunkMagic);
  put_u32(hdr + 4, static_cast<uint32_t>(raw_.size()));
  put_u32(hdr + 8, static_cast<uint32_t>(comp_len));
  put_u32(hdr + 12, records_);
  put_u32(hdr + 16, static_cast<uint32_t>(index.size()));
  put_u32(hdr + 20, crc(index.data(), index.size()));
  put_u32(hdr + 24, crc(payload, comp_len));
  put_u32(hdr + 28, crc(hdr, 28));
  out.resize(kChunkHeader + index.size() + comp_len);
  raw_.clear();
  records_ = 0;
  encoder_ = ChunkEncoder();
  index_ = ChunkIndex();
  return write_all(out);
}

Status TraceWriter::finish(const LostCounts& lost) {
  if (auto st = publish(); !st) return st;
  Event stats;
  stats.kind = Kind::Stats;
  stats.lost = lost;
  stats.final_stats = true;
  auto st = append(stats);
  if (st) st = flush();
  if (st) st = out_.finish();
  out_.discard();  // closes, if finish() failed before it could
  return st;
}

void TraceWriter::discard() { out_.discard(); }

Result<TraceReader> TraceReader::open(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return make_error("cannot open " + path + ": " + strerror(errno));
  char magic[8];
  uint8_t w[8];
  if (!in.read(magic, 8) || std::memcmp(magic, kMagic, 8) != 0)
    return make_error(path + " is not a vmatrace trace file");
  if (!in.read(reinterpret_cast<char*>(w), 8)) return make_error(path + ": header cut short");
  uint32_t version = get_u32(w), meta_len = get_u32(w + 4);
  if (version != kTraceFormatVersion)
    return make_error(path + ": trace format version " + std::to_string(version) +
                      " is not supported (this vmatrace reads version " +
                      std::to_string(kTraceFormatVersion) + ")");
  if (meta_len > kMaxMeta) return make_error(path + ": corrupt header (length)");
  std::string json(meta_len, '\0');
  if (!in.read(json.data(), meta_len) || !in.read(reinterpret_cast<char*>(w), 4))
    return make_error(path + ": header cut short");
  if (get_u32(w) != crc(json.data(), json.size())) return make_error(path + ": corrupt header (checksum)");
  auto meta = TraceMeta::from_json(json);
  if (!meta) return make_error(path + ": corrupt header (" + meta.error() + ")");
  return TraceReader(path, std::move(*meta), 8 + 8 + meta_len + 4);
}

namespace {

struct ChunkHeader {
  uint32_t raw_len = 0, comp_len = 0, records = 0, index_len = 0, index_crc = 0, payload_crc = 0;
};

// Reads the next chunk's header. Returns false at the end of the file (why
// empty) or when the header is cut short or damaged (why says so).
bool read_chunk_header(std::ifstream& in, ChunkHeader* c, std::string* why) {
  uint8_t h[kChunkHeader];
  in.read(reinterpret_cast<char*>(h), kChunkHeader);
  if (in.gcount() == 0) return false;
  if (in.gcount() != static_cast<std::streamsize>(kChunkHeader)) {
    *why = "file cut short";
    return false;
  }
  *c = {get_u32(h + 4), get_u32(h + 8), get_u32(h + 12), get_u32(h + 16), get_u32(h + 20), get_u32(h + 24)};
  if (get_u32(h) != kChunkMagic || get_u32(h + 28) != crc(h, 28) || c->raw_len > kMaxChunk ||
      c->comp_len > kMaxChunk || c->index_len > kMaxIndex) {
    *why = "corrupt chunk header";
    return false;
  }
  return true;
}

// Reads n bytes that a checksum vouches for.
bool read_checked(std::ifstream& in, uint32_t n, uint32_t want_crc, std::string* buf, std::string* why) {
  buf->resize(n);
  if (!in.read(buf->data(), n)) {
    *why = "file cut short";
    return false;
  }
  if (crc(buf->data(), n) != want_crc) {
    *why = "corrupt chunk (checksum)";
    return false;
  }
  return true;
}

struct ZstdDctx {
  ZSTD_DCtx* ctx = ZSTD_createDCtx();
  ~ZstdDctx() { ZSTD_freeDCtx(ctx); }
};

}  // namespace

Result<ReadSummary> TraceReader::for_each(const std::function<void(const Event&)>& fn) {
  std::ifstream in(path_, std::ios::binary);
  if (!in) return make_error("cannot open " + path_ + ": " + strerror(errno));
  in.seekg(static_cast<std::streamoff>(data_offset_));
  ZstdDctx zstd;
  if (!zstd.ctx) return make_error("reading " + path_ + ": out of memory");
  ReadSummary sum;
  std::string index, comp, raw, why;
  Event event;
  ChunkHeader c;
  std::streamoff at = in.tellg();
  for (;; at = in.tellg()) {
    if (!read_chunk_header(in, &c, &why) || !read_checked(in, c.index_len, c.index_crc, &index, &why) ||
        !read_checked(in, c.comp_len, c.payload_crc, &comp, &why))
      break;
    raw.resize(c.raw_len);
    size_t got = ZSTD_decompressDCtx(zstd.ctx, raw.data(), raw.size(), comp.data(), comp.size());
    if (ZSTD_isError(got) || got != c.raw_len) {
      why = "corrupt chunk (compression)";
      break;
    }
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
    if (!dec.done() || decoded != c.records) {
      why = "corrupt chunk (records)";
      break;
    }
    sum.chunks++;
  }
  if (!why.empty())
    sum.warning = why + " at chunk " + std::to_string(sum.chunks + 1) + " (offset " +
                  std::to_string(static_cast<long long>(at)) + ")";
  if (!sum.complete && sum.warning.empty()) sum.warning = "trace has no end record (recorder was killed?)";
  return sum;
}

Result<FaultTimeline> TraceReader::timeline(uint64_t max_chunks) {
  std::ifstream in(path_, std::ios::binary);
  if (!in) return make_error("cannot open " + path_ + ": " + strerror(errno));
  in.seekg(0, std::ios::end);
  const std::streamoff size = in.tellg();
  in.seekg(static_cast<std::streamoff>(data_offset_));
  FaultTimeline t;
  std::string buf, why;
  ChunkHeader c;
  ChunkIndex index;
  while (t.chunks < max_chunks && read_chunk_header(in, &c, &why) &&
         read_checked(in, c.index_len, c.index_crc, &buf, &why) &&
         index.decode(reinterpret_cast<const uint8_t*>(buf.data()), buf.size())) {
    std::streamoff end = in.tellg() + static_cast<std::streamoff>(c.comp_len);
    if (end > size) break;  // for_each stops here too: cut short
    in.seekg(end);
    t.last_ns = std::max(t.last_ns, index.last_ns);
    if (!index.fault_bins.empty() && index.fault_bins.back().first >= kMaxBins) break;  // damaged
    for (const auto& [bin, n] : index.fault_bins) {
      if (bin >= t.bins.size()) t.bins.resize(bin + 1, 0);
      t.bins[bin] += n;
    }
    t.chunks++;
  }
  return t;
}

}  // namespace vmatrace
