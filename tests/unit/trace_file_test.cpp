#include "record/trace_file.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>
#include <iterator>
#include <numeric>

#include "alloc_probe.h"
#include "crafted.h"
#include "events/abi.h"
#include "temp_trace.h"

namespace vmatrace {
namespace {

class TraceFileTest : public TempTraceTest {
 protected:
  TraceMeta meta() const {
    TraceMeta m;
    m.vmatrace_version = "test";
    m.kernel_release = "6.18-test";
    m.hostname = "host";
    m.clock_monotonic_ns = 1000;
    m.target_pid = 4242;
    m.command = {"/bin/x", "arg with space"};
    m.maps_at_attach = "00400000-00401000 r-xp 00000000 fe:00 1 /bin/x\n";
    return m;
  }

  static Event fault(uint64_t i) {
    Event e;
    e.kind = Kind::Fault;
    e.ts = 2000 + i * 10;
    e.pid = 4242;
    e.tid = 4242 + static_cast<uint32_t>(i % 3);
    e.addr = 0x7f0000000000 + i * 4096;
    e.ip = 0x401000;
    e.latency_ns = static_cast<uint32_t>(i);
    e.error_code = VT_PF_USER | VT_PF_WRITE;
    return e;
  }

  // Writes n faults in chunks of per_chunk and returns them.
  std::vector<Event> write_trace(int n, int per_chunk, bool finish) {
    auto w = TraceWriter::create(path_);
    EXPECT_TRUE(w) << w.error();
    EXPECT_TRUE((*w)->write_header(meta()));
    EXPECT_TRUE((*w)->publish());
    std::vector<Event> out;
    for (int i = 0; i < n; i++) {
      out.push_back(fault(static_cast<uint64_t>(i)));
      EXPECT_TRUE((*w)->append(out.back()));
      if ((i + 1) % per_chunk == 0) {
        EXPECT_TRUE((*w)->flush());
      }
    }
    if (finish) {
      LostCounts lost;
      lost.by_reason = {0, 4, 0, 0, 0, 0, 0, 0};
      EXPECT_TRUE((*w)->finish(lost));
    } else {
      EXPECT_TRUE((*w)->flush());
    }
    return out;
  }

  std::vector<Event> read_all(ReadSummary* sum) {
    auto r = TraceReader::open(path_);
    EXPECT_TRUE(r) << r.error();
    std::vector<Event> got;
    auto s = r->for_each([&](const Event& e) {
      if (e.kind != Kind::Stats) got.push_back(e);
    });
    EXPECT_TRUE(s);
    *sum = *s;
    return got;
  }

  std::string bytes() const {
    std::ifstream in(path_, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), {});
  }
  void rewrite(const std::string& b) const {
    std::ofstream out(path_, std::ios::binary | std::ios::trunc);
    out << b;
  }
};

TEST_F(TraceFileTest, RoundTrip) {
  auto written = write_trace(1000, 300, true);
  auto r = TraceReader::open(path_);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->meta().command, meta().command);
  EXPECT_EQ(r->meta().maps_at_attach, meta().maps_at_attach);
  EXPECT_EQ(r->meta().target_pid, 4242u);
  ReadSummary sum;
  auto got = read_all(&sum);
  EXPECT_EQ(got, written);
  EXPECT_TRUE(sum.complete);
  EXPECT_TRUE(sum.warning.empty());
  EXPECT_EQ(sum.chunks, 4u);
}

TEST_F(TraceFileTest, AFaultCostsAtMostSixteenBytesOnDisk) {
  auto w = TraceWriter::create(path_);
  ASSERT_TRUE(w);
  ASSERT_TRUE((*w)->write_header(meta()));
  uint64_t header = (*w)->bytes_written();
  const int n = 200000;
  uint64_t seed = 12345;
  for (int i = 0; i < n; i++) {
    seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;  // jittered, not compressible
    Event e = fault(static_cast<uint64_t>(i));
    e.ts = 1000000 + static_cast<uint64_t>(i) * 12000 + (seed >> 54);
    e.latency_ns = 8000 + static_cast<uint32_t>((seed >> 40) & 0x3fff);
    e.addr = 0x7f0000000000 + static_cast<uint64_t>(i) * 4096 + ((seed >> 20) & 0xfff);
    ASSERT_TRUE((*w)->append(e));
  }
  ASSERT_TRUE((*w)->finish(LostCounts{}));
  double per_fault = static_cast<double>((*w)->bytes_written() - header) / n;
  EXPECT_LE(per_fault, 16.0);
}

TEST_F(TraceFileTest, CreatedPrivateEvenOverAnOpenFile) {
  rewrite("old");
  ASSERT_EQ(chmod(path_.c_str(), 0644), 0);
  write_trace(1, 1, true);
  struct stat st;
  ASSERT_EQ(stat(path_.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
}

TEST_F(TraceFileTest, CutShortReadsBackWholeChunks) {
  auto written = write_trace(1000, 100, true);
  std::string all = bytes();
  // Cut in the middle of the 6th chunk: find where it starts by cutting progressively.
  for (size_t cut : {all.size() - 1, all.size() / 2, all.size() / 3}) {
    rewrite(all.substr(0, cut));
    ReadSummary sum;
    auto got = read_all(&sum);
    EXPECT_FALSE(sum.complete);
    EXPECT_NE(sum.warning.find("cut short"), std::string::npos) << sum.warning;
    ASSERT_LE(got.size(), written.size());
    EXPECT_EQ(got.size() % 100, 0u) << "only whole chunks";
    EXPECT_TRUE(std::equal(got.begin(), got.end(), written.begin()));
  }
}

TEST_F(TraceFileTest, CorruptChunkStopsThereWithAWarning) {
  write_trace(300, 100, true);
  std::string all = bytes();
  all[all.size() - 10] ^= 0x55;  // inside the last chunk's payload
  rewrite(all);
  ReadSummary sum;
  auto got = read_all(&sum);
  EXPECT_NE(sum.warning.find("corrupt"), std::string::npos) << sum.warning;
  EXPECT_FALSE(sum.complete);
  EXPECT_EQ(got.size(), 300u);  // the final stats chunk is the damaged one
}

TEST_F(TraceFileTest, MissingEndRecordIsReported) {
  write_trace(10, 5, false);
  ReadSummary sum;
  auto got = read_all(&sum);
  EXPECT_EQ(got.size(), 10u);
  EXPECT_FALSE(sum.complete);
  EXPECT_NE(sum.warning.find("no end record"), std::string::npos);
}

TEST_F(TraceFileTest, NotATraceFile) {
  rewrite("hello world, not a trace");
  auto r = TraceReader::open(path_);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().find("not a vmatrace trace file"), std::string::npos);
}

TEST_F(TraceFileTest, CorruptHeader) {
  write_trace(1, 1, true);
  std::string all = bytes();
  all[20] ^= 1;  // inside the JSON meta
  rewrite(all);
  auto r = TraceReader::open(path_);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().find("corrupt header"), std::string::npos);
  rewrite(all.substr(0, 12));
  r = TraceReader::open(path_);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().find("cut short"), std::string::npos);
}

TEST_F(TraceFileTest, UnsupportedVersion) {
  write_trace(1, 1, true);
  std::string all = bytes();
  all[8] = 99;
  rewrite(all);
  auto r = TraceReader::open(path_);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().find("version 99"), std::string::npos);
}

TEST_F(TraceFileTest, MissingFile) {
  auto r = TraceReader::open(dir_ + "/nope.vmt");
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().find("cannot open"), std::string::npos);
}

TEST_F(TraceFileTest, UnpublishedFileLeavesAnExistingOneAlone) {
  rewrite("precious");
  {
    auto w = TraceWriter::create(path_);
    ASSERT_TRUE(w);
    ASSERT_TRUE((*w)->write_header(meta()));
    (*w)->discard();
  }
  EXPECT_EQ(bytes(), "precious");
  EXPECT_EQ(rmdir(dir_.c_str()), -1) << "only t.vmt is left in the directory";
  unlink(path_.c_str());
  EXPECT_EQ(rmdir(dir_.c_str()), 0) << "no temporary file left behind";
  mkdir(dir_.c_str(), 0700);
}

TEST_F(TraceFileTest, UnwritablePath) {
  auto w = TraceWriter::create(dir_ + "/no/such/dir/t.vmt");
  ASSERT_FALSE(w);
  EXPECT_NE(w.error().find("cannot create"), std::string::npos);
}

}  // namespace
}  // namespace vmatrace

namespace vmatrace {
namespace {

// The chunk indexes alone give the fault timeline: counts per 10 ms bin of
// complete faults only, the last event's time, whole chunks only.
TEST_F(TraceFileTest, TimelineFromTheChunkIndexes) {
  auto w = TraceWriter::create(path_);
  ASSERT_TRUE(w);
  TraceMeta m = meta();
  m.clock_monotonic_ns = 5'000'000'000;
  ASSERT_TRUE((*w)->write_header(m));
  uint64_t want_bins[4] = {0, 0, 0, 0};
  for (uint64_t i = 0; i < 300; i++) {
    Event e = fault(i);
    e.ts = m.clock_monotonic_ns + i * 130'000;  // 39 ms in all: bins 0..3
    if (i % 7 == 0) e.fault_flags = VT_FAULT_INCOMPLETE;  // not counted
    else want_bins[(i * 130'000) / kFaultBinNs]++;
    ASSERT_TRUE((*w)->append(e));
    if (i % 64 == 63) {
      ASSERT_TRUE((*w)->flush());  // bins span chunks
    }
  }
  Event sc;
  sc.kind = Kind::Syscall;
  sc.pid = sc.tid = 4242;
  sc.ts = m.clock_monotonic_ns + 45'000'000;  // the last event is not a fault
  ASSERT_TRUE((*w)->append(sc));
  ASSERT_TRUE((*w)->finish(LostCounts{}));
  auto r = TraceReader::open(path_);
  ASSERT_TRUE(r);
  auto t = r->timeline();
  ASSERT_TRUE(t) << t.error();
  EXPECT_EQ(t->bins, std::vector<uint32_t>(want_bins, want_bins + 4));
  EXPECT_EQ(t->last_ns, 45'000'000u);
  EXPECT_EQ(t->chunks, 5u);  // 4 of 64 faults, then the rest with the end record
  auto first_two = r->timeline(2);
  ASSERT_TRUE(first_two);
  EXPECT_EQ(first_two->chunks, 2u);
  EXPECT_EQ(std::accumulate(first_two->bins.begin(), first_two->bins.end(), 0u), 128u - 19u);  // 19 incomplete
}

TEST_F(TraceFileTest, TimelineStopsWhereTheFileIsCutOrDamaged) {
  write_trace(1000, 100, true);
  std::string all = bytes();
  rewrite(all.substr(0, all.size() - 40));  // inside the last chunk
  auto t = TraceReader::open(path_)->timeline();
  ASSERT_TRUE(t);
  EXPECT_EQ(t->chunks, 10u) << "the end record's chunk is cut short";
  // Damage the 3rd chunk's index: the timeline ends before it.
  const auto* u = reinterpret_cast<const uint8_t*>(all.data());  // char may be signed
  size_t meta_len = u[12] | (u[13] << 8) | (u[14] << 16);
  size_t chunk = 8 + 8 + meta_len + 4, seen = 0;
  for (; seen < 2; seen++) {
    const auto* h = reinterpret_cast<const uint8_t*>(all.data() + chunk);
    uint32_t comp = h[8] | h[9] << 8 | h[10] << 16 | h[11] << 24, index = h[16] | h[17] << 8;
    chunk += 32 + index + comp;
  }
  all[chunk + 32] ^= 0x40;  // first byte of the index
  rewrite(all);
  t = TraceReader::open(path_)->timeline();
  ASSERT_TRUE(t);
  EXPECT_EQ(t->chunks, 2u);
  ReadSummary sum;
  EXPECT_EQ(read_all(&sum).size(), 200u) << "events stop at the same chunk";
  EXPECT_NE(sum.warning.find("checksum"), std::string::npos) << sum.warning;
}

}  // namespace
}  // namespace vmatrace

namespace vmatrace {
namespace {

// Files whose checksums are all valid but whose contents the writer never
// makes: each stops reading at the chunk that lies, with a warning, and
// asks for no more memory than the file's size warrants.
class CraftedTraceTest : public TraceFileTest {
 protected:
  static constexpr uint64_t kT0 = 1000;

  std::vector<Event> faults(int n) const {
    std::vector<Event> v;
    for (int i = 0; i < n; i++) v.push_back(fault(static_cast<uint64_t>(i)));
    return v;
  }

  // A good chunk, then one with index bytes `index` over good records.
  void write_with_index(const std::string& index) {
    CraftedChunk bad = chunk_of(faults(3), kT0);
    bad.index = index;
    ASSERT_TRUE(write_crafted(path_, meta(), {chunk_of(faults(5), kT0), bad}));
  }

  // Timeline and events both stop before chunk 2, and say why.
  void expect_stops_at_second_chunk(const std::string& why) {
    auto r = TraceReader::open(path_);
    ASSERT_TRUE(r) << r.error();
    auto t = r->timeline();
    ASSERT_TRUE(t) << t.error();
    EXPECT_EQ(t->chunks, 1u);
    EXPECT_LE(t->bins.size(), 1u);
    ReadSummary sum;
    EXPECT_EQ(read_all(&sum).size(), 5u);
    EXPECT_NE(sum.warning.find(why), std::string::npos) << sum.warning;
    EXPECT_NE(sum.warning.find("at chunk 2"), std::string::npos) << sum.warning;
  }
};

// Bin UINT64_MAX once made the timeline resize to 0 bins and write past
// them; bin 2^63 made it throw length_error out of report.
TEST_F(CraftedTraceTest, IndexBinsThatWrapOrReachTwoToTheSixtyThird) {
  write_with_index(varints({5, 2, UINT64_MAX, 1, 1, 1}));  // UINT64_MAX, then 0
  expect_stops_at_second_chunk("corrupt chunk index");
  write_with_index(varints({5, 2, 1ull << 63, 1, (1ull << 63) + 3, 1}));  // 2^63, then 3
  expect_stops_at_second_chunk("corrupt chunk index");
  write_with_index(varints({UINT64_MAX, 1, 1ull << 63, 1}));  // 2^63 alone, with a last moment to match
  expect_stops_at_second_chunk("corrupt chunk index");
}

TEST_F(CraftedTraceTest, IndexThatDisagreesWithItsChunk) {
  write_with_index(varints({5, 1, 3, 1}));  // a fault in bin 3 (30 ms) of a chunk whose last moment is 5 ns
  expect_stops_at_second_chunk("corrupt chunk index");
  write_with_index(varints({50'000'000, 1, 3, 4}));  // 4 faults in a chunk of 3 records
  expect_stops_at_second_chunk("corrupt chunk index");
}

// A 300-byte file once made report allocate a timeline of 2^26 bins (and
// find_storms a copy of it): 512 MiB.
TEST_F(CraftedTraceTest, ASmallFileCannotClaimALongTimeline) {
  const uint64_t bin = 1ull << 26;
  write_with_index(varints({bin * kFaultBinNs, 1, bin, 1}));
  expect_stops_at_second_chunk("corrupt chunk index");
  // Within the allowance of a small file: 11.6 hours.
  const uint64_t ok_bin = kMinTimelineBins - 1;
  write_with_index(varints({ok_bin * kFaultBinNs, 1, ok_bin, 1}));
  auto t = TraceReader::open(path_)->timeline();
  ASSERT_TRUE(t);
  EXPECT_EQ(t->chunks, 2u);
  EXPECT_EQ(t->bins.size(), ok_bin + 1);
  EXPECT_EQ(t->bins[ok_bin], 1u);
  EXPECT_EQ(timeline_bins_allowed(1ull << 30), kMaxTimelineBins);
  EXPECT_EQ(timeline_bins_allowed(kMinTimelineBins), kMaxTimelineBins / 2);
  EXPECT_EQ(timeline_bins_allowed(UINT64_MAX), kMaxTimelineBins);
}

// A few KB of zstd can claim 64 MiB of records: chunks larger than the
// writer makes, or compressed more than any recording compresses, are refused.
TEST_F(CraftedTraceTest, ChunksLargerOrDenserThanTheWriterMakesAreRefused) {
  std::vector<Event> many;
  Event f = fault(0);
  for (int i = 0; i < 700'000; i++) many.push_back(f);  // identical: zstd squeezes them to nothing
  CraftedChunk big = chunk_of(many, kT0);
  ASSERT_GT(big.raw.size(), kMaxChunkRaw);
  ASSERT_TRUE(write_crafted(path_, meta(), {chunk_of(faults(5), kT0), big}));
  expect_stops_at_second_chunk("sizes beyond what vmatrace writes");
  many.resize(100'000);  // 1 MiB, as the writer flushes, but ~10,000x compressed
  ASSERT_TRUE(write_crafted(path_, meta(), {chunk_of(faults(5), kT0), chunk_of(many, kT0)}));
  expect_stops_at_second_chunk("sizes beyond what vmatrace writes");
}

// Sizes are checked against what the file holds before anything is allocated.
TEST_F(CraftedTraceTest, ClaimedLengthsAreNotAllocatedBeyondTheFile) {
  write_trace(10, 5, true);
  std::string all = bytes();
  std::string header_claims = all.substr(0, 12) + std::string("\x00\x00\x00\x0f", 4) + all.substr(16);  // 250 MiB of JSON
  rewrite(header_claims);
  {
    LargestAllocation probe;
    auto r = TraceReader::open(path_);
    ASSERT_FALSE(r);
    EXPECT_NE(r.error().find("cut short"), std::string::npos) << r.error();
    EXPECT_LT(probe.bytes(), 1u << 20);
  }
  // A chunk header (checksummed) claiming a 4 MiB index in a file of a few hundred bytes.
  std::string out = frame_header(meta());
  ChunkFramer framer;
  ASSERT_TRUE(framer.frame(chunk_of(faults(2), kT0).raw, 2, std::string(kMaxChunkIndex, '\0'), &out));
  rewrite(out.substr(0, 2000));
  {
    LargestAllocation probe;
    ReadSummary sum;
    EXPECT_EQ(read_all(&sum).size(), 0u);
    EXPECT_NE(sum.warning.find("cut short"), std::string::npos) << sum.warning;
    EXPECT_LT(probe.bytes(), 1u << 20);
  }
}

// Numbers in the JSON header: a float or a negative where a whole number
// goes was converted unchecked (1e300 into a pid is undefined behaviour).
TEST(TraceMeta, HeaderNumbersMustBeWholeAndInRange) {
  for (const char* bad : {R"({"format_version": 2, "target_pid": 1e300})",
                          R"({"format_version": 2, "target_pid": -1})",
                          R"({"format_version": 2, "target_pid": 4294967296})",
                          R"({"format_version": 2.5})", R"({"format_version": 2, "clock_monotonic_ns": "1"})",
                          R"({"target_pid": 1})"}) {
    auto m = TraceMeta::from_json(bad);
    EXPECT_FALSE(m) << bad;
  }
  auto m = TraceMeta::from_json(R"({"format_version": 2, "target_pid": 4294967295, "clock_monotonic_ns": 18446744073709551615})");
  ASSERT_TRUE(m) << m.error();
  EXPECT_EQ(m->target_pid, 4294967295u);
  EXPECT_EQ(m->clock_monotonic_ns, UINT64_MAX);
}

// A rotated file's uncertain_at_start: malformed entries refuse the header;
// a reason's bytes come back escaped (a warning line prints them).
TEST(TraceMeta, UncertainAtStartIsCheckedAndItsReasonsEscaped) {
  for (const char* bad : {R"({"format_version": 3, "uncertain_at_start": {}})",
                          R"({"format_version": 3, "uncertain_at_start": [7]})",
                          R"({"format_version": 3, "uncertain_at_start": [{"reason": "x"}]})",
                          R"({"format_version": 3, "uncertain_at_start": [{"pid": -7, "reason": "x"}]})",
                          R"({"format_version": 3, "uncertain_at_start": [{"pid": 7, "reason": 5}]})"}) {
    auto m = TraceMeta::from_json(bad);
    EXPECT_FALSE(m) << bad;
  }
  TraceMeta meta;
  meta.uncertain_at_start = {{7, "events lost: 3 snapshot"}, {8, "forged\n# vmatrace: all exact"}};
  auto m = TraceMeta::from_json(meta.to_json());
  ASSERT_TRUE(m) << m.error();
  ASSERT_EQ(m->uncertain_at_start.size(), 2u);
  EXPECT_EQ(m->uncertain_at_start[0].pid, 7u);
  EXPECT_EQ(m->uncertain_at_start[0].reason, "events lost: 3 snapshot");
  EXPECT_EQ(m->uncertain_at_start[1].reason, "forged\\012# vmatrace: all exact");
}

// A FIFO (or any non-regular file) is refused at once: opening one to read
// waits for a writer that never comes.
TEST_F(TraceFileTest, NotARegularFileIsRefusedWithoutWaiting) {
  std::string fifo = dir_ + "/fifo";
  ASSERT_EQ(mkfifo(fifo.c_str(), 0600), 0);
  auto r = TraceReader::open(fifo);
  unlink(fifo.c_str());
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().find("not a regular file"), std::string::npos) << r.error();
  r = TraceReader::open(dir_);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().find("not a regular file"), std::string::npos) << r.error();
}

}  // namespace
}  // namespace vmatrace
