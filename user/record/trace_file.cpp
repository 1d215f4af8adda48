#include "record/trace_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>

namespace vmatrace {
namespace {

constexpr char kMagic[8] = {'V', 'M', 'A', 'T', 'R', 'A', 'C', 'E'};
constexpr uint32_t kChunkMagic = 0x4b435456;  // "VTCK"
constexpr size_t kChunkHeader = 24;
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

std::string TraceMeta::to_json() const {
  nlohmann::json j = {
      {"format_version", format_version},   {"vmatrace_version", vmatrace_version},
      {"kernel_release", kernel_release},   {"hostname", hostname},
      {"clock", "CLOCK_MONOTONIC"},          {"clock_monotonic_ns", clock_monotonic_ns},
      {"clock_realtime_ns", clock_realtime_ns}, {"target_pid", target_pid},
      {"command", command},                  {"follow_children", follow_children},
      {"page_size", page_size},              {"maps_at_attach", maps_at_attach},
      {"vsyscall_line", vsyscall_line},     {"kernel_snapshots", kernel_snapshots}};
  return j.dump();
}

Result<TraceMeta> TraceMeta::from_json(const std::string& text) {
  auto j = nlohmann::json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return make_error("header is not valid JSON");
  TraceMeta m;
  try {
    m.format_version = j.at("format_version").get<uint32_t>();
    m.vmatrace_version = j.value("vmatrace_version", "");
    m.kernel_release = j.value("kernel_release", "");
    m.hostname = j.value("hostname", "");
    m.clock_monotonic_ns = j.value("clock_monotonic_ns", uint64_t{0});
    m.clock_realtime_ns = j.value("clock_realtime_ns", uint64_t{0});
    m.target_pid = j.value("target_pid", 0u);
    m.command = j.value("command", std::vector<std::string>{});
    m.follow_children = j.value("follow_children", false);
    m.page_size = j.value("page_size", 4096u);
    m.maps_at_attach = j.value("maps_at_attach", "");
    m.vsyscall_line = j.value("vsyscall_line", "");
    m.kernel_snapshots = j.value("kernel_snapshots", true);
  } catch (const nlohmann::json::exception& e) {
    return make_error(std::string("header field has the wrong type: ") + e.what());
  }
  return m;
}

Result<std::unique_ptr<TraceWriter>> TraceWriter::create(const std::string& path) {
  if (path.empty()) return make_error("cannot create an output file with an empty name");
  // mkostemp creates mode 0600: the trace reveals the target's address layout.
  std::string tmp = path + ".tmp-XXXXXX";
  int fd = mkostemp(tmp.data(), O_CLOEXEC);
  if (fd < 0) return make_error("cannot create " + path + ": " + strerror(errno));
  return std::unique_ptr<TraceWriter>(new TraceWriter(fd, path, tmp));
}

Status TraceWriter::publish() {
  if (tmp_path_.empty()) return Ok{};
  if (::rename(tmp_path_.c_str(), path_.c_str()) != 0)
    return make_error("cannot create " + path_ + ": " + strerror(errno));
  tmp_path_.clear();
  return Ok{};
}

TraceWriter::~TraceWriter() { discard(); }

Status TraceWriter::write_all(const void* data, size_t size) {
  const char* p = static_cast<const char*>(data);
  while (size > 0) {
    ssize_t n = ::write(fd_, p, size);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return make_error("writing " + path_ + ": " + strerror(errno));
    p += n;
    size -= static_cast<size_t>(n);
    bytes_ += static_cast<uint64_t>(n);
  }
  return Ok{};
}

Status TraceWriter::write_header(const TraceMeta& meta) {
  std::string json = meta.to_json();
  std::string buf(kMagic, sizeof(kMagic));
  uint8_t w[8];
  put_u32(w, meta.format_version);
  put_u32(w + 4, static_cast<uint32_t>(json.size()));
  buf.append(reinterpret_cast<char*>(w), 8);
  buf += json;
  put_u32(w, crc(json.data(), json.size()));
  buf.append(reinterpret_cast<char*>(w), 4);
  return write_all(buf.data(), buf.size());
}

Status TraceWriter::append(const Event& e) {
  encoder_.encode(e, &raw_);
  records_++;
  if (raw_.size() >= (1u << 20)) return flush();
  return Ok{};
}

Status TraceWriter::flush() {
  if (records_ == 0) return Ok{};
  uLongf comp_len = compressBound(static_cast<uLong>(raw_.size()));
  std::string out(kChunkHeader + comp_len, '\0');
  auto* hdr = reinterpret_cast<uint8_t*>(out.data());
  int rc = compress2(hdr + kChunkHeader, &comp_len, reinterpret_cast<const Bytef*>(raw_.data()),
                     static_cast<uLong>(raw_.size()), Z_BEST_SPEED);
  if (rc != Z_OK) return make_error("compressing a trace chunk failed (zlib error " + std::to_string(rc) + ")");
  put_u32(hdr, kChunkMagic);
  put_u32(hdr + 4, static_cast<uint32_t>(raw_.size()));
  put_u32(hdr + 8, static_cast<uint32_t>(comp_len));
  put_u32(hdr + 12, records_);
  put_u32(hdr + 16, crc(hdr + kChunkHeader, comp_len));
  put_u32(hdr + 20, crc(hdr, 20));
  out.resize(kChunkHeader + comp_len);
  raw_.clear();
  records_ = 0;
  encoder_ = ChunkEncoder();
  return write_all(out.data(), out.size());
}

Status TraceWriter::finish(const LostCounts& lost) {
  if (auto st = publish(); !st) return st;
  Event stats;
  stats.kind = Kind::Stats;
  stats.lost = lost;
  stats.final_stats = true;
  auto st = append(stats);
  if (st) st = flush();
  if (st && ::fsync(fd_) != 0 && errno != EINVAL)
    st = make_error("writing " + path_ + ": " + strerror(errno));
  if (::close(fd_) != 0 && st) st = make_error("closing " + path_ + ": " + strerror(errno));
  fd_ = -1;
  return st;
}

void TraceWriter::discard() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
  if (!tmp_path_.empty()) ::unlink(tmp_path_.c_str());
  tmp_path_.clear();
}

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

Result<ReadSummary> TraceReader::for_each(const std::function<void(const Event&)>& fn) {
  std::ifstream in(path_, std::ios::binary);
  if (!in) return make_error("cannot open " + path_ + ": " + strerror(errno));
  in.seekg(static_cast<std::streamoff>(data_offset_));
  ReadSummary sum;
  std::string comp, raw;
  Event event;
  uint8_t h[kChunkHeader];
  auto stop = [&](const std::string& why) {
    sum.warning = why + " at chunk " + std::to_string(sum.chunks + 1) + " (offset " +
                  std::to_string(static_cast<long long>(in.tellg())) + ")";
  };
  while (true) {
    in.read(reinterpret_cast<char*>(h), kChunkHeader);
    if (in.gcount() == 0) break;
    if (in.gcount() != static_cast<std::streamsize>(kChunkHeader)) {
      stop("file cut short");
      break;
    }
    uint32_t raw_len = get_u32(h + 4), comp_len = get_u32(h + 8), nrec = get_u32(h + 12);
    if (get_u32(h) != kChunkMagic || get_u32(h + 20) != crc(h, 20) || raw_len > kMaxChunk ||
        comp_len > kMaxChunk) {
      stop("corrupt chunk header");
      break;
    }
    comp.resize(comp_len);
    if (!in.read(comp.data(), comp_len)) {
      stop("file cut short");
      break;
    }
    if (get_u32(h + 16) != crc(comp.data(), comp_len)) {
      stop("corrupt chunk (checksum)");
      break;
    }
    raw.resize(raw_len);
    uLongf out_len = raw_len;
    if (uncompress(reinterpret_cast<Bytef*>(raw.data()), &out_len,
                   reinterpret_cast<const Bytef*>(comp.data()), comp_len) != Z_OK ||
        out_len != raw_len) {
      stop("corrupt chunk (compression)");
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
    if (!dec.done() || decoded != nrec) {
      stop("corrupt chunk (records)");
      break;
    }
    sum.chunks++;
  }
  if (!sum.complete && sum.warning.empty()) sum.warning = "trace has no end record (recorder was killed?)";
  return sum;
}

}  // namespace vmatrace
