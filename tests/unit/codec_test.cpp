#include "record/codec.h"

#include <gtest/gtest.h>

#include <set>

#include "crafted.h"
#include "events/abi.h"

namespace vmatrace {
namespace {

// The streams of an encoded chunk, as its prelude cuts them.
std::vector<std::string> streams_of(const std::string& chunk) {
  ByteReader in{reinterpret_cast<const uint8_t*>(chunk.data()), reinterpret_cast<const uint8_t*>(chunk.data()) + chunk.size()};
  std::vector<uint64_t> len(kStreamCount);
  for (auto& n : len) EXPECT_TRUE(in.varint(&n));
  std::vector<std::string> out;
  size_t at = static_cast<size_t>(in.p - reinterpret_cast<const uint8_t*>(chunk.data()));
  for (uint64_t n : len) {
    out.push_back(chunk.substr(at, n));
    at += n;
  }
  EXPECT_EQ(at, chunk.size());
  return out;
}

// A chunk of these streams (the records stream first; the rest empty if not given).
std::string chunk_of_streams(const std::vector<std::string>& given) {
  std::string streams[kStreamCount];
  for (size_t i = 0; i < given.size() && i < kStreamCount; i++) streams[i] = given[i];
  return join_streams(streams);
}

std::string encode_all(const std::vector<Event>& events) {
  ChunkEncoder enc;
  for (const auto& e : events) enc.encode(e);
  return enc.finish();
}

std::vector<Event> sample_events() {
  std::vector<Event> v;
  Event s;
  s.kind = Kind::Syscall;
  s.ts = 1000000000123;
  s.pid = 100;
  s.tid = 101;
  s.sc = VT_SC_MMAP;
  s.duration_ns = 777;
  s.ret = 0x7f0000001000;
  s.args = {0, 4096, 3, 0x22, static_cast<uint64_t>(-1), 0};
  v.push_back(s);
  Event err = s;
  err.ts += 5;
  err.sc = VT_SC_MPROTECT;
  err.ret = -12;
  v.push_back(err);
  Event f;
  f.kind = Kind::Fault;
  f.ts = s.ts - 50;  // ring order is not strictly time order across CPUs
  f.pid = 100;
  f.tid = 101;
  f.addr = 0x7f0000001008;
  f.ip = 0x55550000abcd;
  f.latency_ns = 12000;
  f.error_code = VT_PF_WRITE | VT_PF_USER;
  f.fault_flags = VT_FAULT_MAJOR;
  v.push_back(f);
  Event f2 = f;
  f2.addr -= 0x100000;  // address going down: negative delta
  f2.tid = 102;
  f2.fault_flags = VT_FAULT_INCOMPLETE;
  v.push_back(f2);
  Event vm;
  vm.kind = Kind::Vma;
  vm.ts = s.ts + 9;
  vm.pid = 100;
  vm.tid = 102;
  vm.vma = {0x7f0000000000, 0x7f0000010000, 0x75, 2, 1234567, (8u << 20) | 1, VT_PATH_FILE | VT_PATH_DELETED,
            VT_VMA_MAPPED, "/usr/lib/libc.so.6"};
  v.push_back(vm);
  Event ex;
  ex.kind = Kind::Exec;
  ex.ts = s.ts + 10;
  ex.pid = 100;
  ex.tid = 100;
  ex.old_tid = 102;
  ex.filename = "/bin/true";
  v.push_back(ex);
  Event fk;
  fk.kind = Kind::Fork;
  fk.ts = s.ts + 11;
  fk.pid = 100;
  fk.tid = 100;
  fk.child_pid = 200;
  fk.child_tid = 200;
  v.push_back(fk);
  Event xt;
  xt.kind = Kind::Exit;
  xt.ts = s.ts + 12;
  xt.pid = 100;
  xt.tid = 100;
  xt.exit_code = 0x700;
  xt.exit_flags = VT_EXIT_GROUP_DEAD;
  v.push_back(xt);
  Event st;
  st.kind = Kind::Stats;
  st.ts = s.ts + 13;
  st.pid = 0;
  st.tid = 0;
  st.lost.by_reason = {1, 2, 0, 0, 5, 0, 0, 7};
  st.final_stats = true;
  v.push_back(st);
  return v;
}

TEST(Codec, RoundTripsEveryKind) {
  auto events = sample_events();
  std::string buf = encode_all(events);
  ChunkDecoder dec(reinterpret_cast<const uint8_t*>(buf.data()), buf.size());
  for (const auto& want : events) {
    auto got = dec.next();
    ASSERT_TRUE(got.has_value());
    EXPECT_EQ(*got, want) << "kind " << static_cast<int>(want.kind);
  }
  EXPECT_TRUE(dec.done());
}

TEST(Codec, SequentialFaultsCostAtMostTwelveBytesBeforeCompression) {
  ChunkEncoder enc;
  Event f;
  f.kind = Kind::Fault;
  f.pid = f.tid = 4242;
  f.ip = 0x555555554000;
  f.error_code = VT_PF_WRITE | VT_PF_USER;
  const int n = 10000;
  for (int i = 0; i < n; i++) {
    f.ts = 1000000000000ULL + static_cast<uint64_t>(i) * 12000;
    f.addr = 0x7f1234560000ULL + static_cast<uint64_t>(i) * 4096;
    f.latency_ns = 11000 + (i % 500);
    enc.encode(f);
  }
  EXPECT_LE(enc.finish().size(), static_cast<size_t>(n) * 12 + kStreamCount * 5) << "prelude included";
}

// A fault storm's time and latency are noise in their low bits; every other
// field repeats. What compresses is all in columns of their own: the
// repeating ones shrink to nothing, and the fault's time is the user code's
// gap before it (the same every time here, though the latency varies).
TEST(Codec, AFaultStormsRepeatingFieldsAndGapsFillColumnsOfOneValue) {
  ChunkEncoder enc;
  Event f;
  f.kind = Kind::Fault;
  f.pid = f.tid = 7;
  f.ip = 0x555555554000;
  f.error_code = VT_PF_WRITE | VT_PF_USER;
  f.ts = 1'000'000;
  for (int i = 0; i < 100; i++) {
    f.latency_ns = 1000 + (i * 37) % 300;
    f.ts += 700 + f.latency_ns;
    f.addr = 0x7f0000000000ULL + static_cast<uint64_t>(i) * 4096;
    enc.encode(f);
  }
  auto streams = streams_of(enc.finish());
  ASSERT_EQ(streams.size(), size_t{kStreamCount});
  // After the first fault's fields (whose deltas count from 0): at most the two bytes of one varint.
  auto one_value_after_the_first = [](const std::string& s) {
    return s.size() > 10 && std::set<char>(s.begin() + 10, s.end()).size() <= 2;
  };
  EXPECT_EQ(streams[kRecordStream].size(), 100 + 2u) << "a head byte a fault, the tid once";
  for (auto id : {kGapLow, kGapSecond, kGapRest, kFaultAddr, kLatencyRest, kFaultIp, kFaultCodes, kFaultStack})
    EXPECT_TRUE(one_value_after_the_first(streams[id])) << "stream " << int{id};
  EXPECT_TRUE(one_value_after_the_first(streams[kGapLow])) << "the gap: 700 every time";
  EXPECT_FALSE(one_value_after_the_first(streams[kLatencyLow]));
}

TEST(Codec, RejectsTruncatedRecords) {
  auto events = sample_events();
  for (const auto& e : events) {
    std::string buf = encode_all({e});
    for (size_t cut = 0; cut < buf.size(); cut++) {
      ChunkDecoder dec(reinterpret_cast<const uint8_t*>(buf.data()), cut);
      EXPECT_FALSE(dec.next().has_value()) << "kind " << static_cast<int>(e.kind) << " chunk cut at " << cut;
    }
    // One stream cut short, its length in the prelude true to the cut.
    auto streams = streams_of(buf);
    for (size_t id = 0; id < streams.size(); id++) {
      for (size_t cut = 0; cut < streams[id].size(); cut++) {
        auto cut_streams = streams;
        cut_streams[id].resize(cut);
        std::string chunk = chunk_of_streams(cut_streams);
        ChunkDecoder dec(reinterpret_cast<const uint8_t*>(chunk.data()), chunk.size());
        EXPECT_FALSE(dec.next().has_value()) << "kind " << static_cast<int>(e.kind) << " stream " << id << " cut at " << cut;
      }
    }
  }
}

TEST(Codec, RejectsUnknownKindAndSameTidWithoutTid) {
  const std::string bad_kind = chunk_of_streams({std::string("\x0e\x00", 2)});
  ChunkDecoder d1(reinterpret_cast<const uint8_t*>(bad_kind.data()), bad_kind.size());
  EXPECT_FALSE(d1.next().has_value());
  const std::string same_tid_first = chunk_of_streams({std::string("\x12\x00\x00\x00\x00\x00", 6)});
  ChunkDecoder d2(reinterpret_cast<const uint8_t*>(same_tid_first.data()), same_tid_first.size());
  EXPECT_FALSE(d2.next().has_value());
}

// The prelude's lengths must add up to the chunk exactly.
TEST(Codec, RejectsAPreludeThatDoesNotCoverTheChunk) {
  std::string good = encode_all(sample_events());
  for (std::string bad : {good + '\0', good.substr(0, good.size() - 1), std::string(), std::string(kStreamCount, '\xff')}) {
    ChunkDecoder dec(reinterpret_cast<const uint8_t*>(bad.data()), bad.size());
    EXPECT_FALSE(dec.next().has_value());
    EXPECT_FALSE(dec.done());
  }
}

}  // namespace
}  // namespace vmatrace

namespace vmatrace {
namespace {

// Runs of faults of one thread take the decoder's unchecked path: every
// field at every size, up to 10-byte varints, must come back as it went in,
// whether the caller reuses one Event or takes a fresh one each time.
TEST(Codec, FaultRunsRoundTripAtEveryFieldSize) {
  std::vector<Event> faults;
  Event f;
  f.kind = Kind::Fault;
  f.pid = 7;
  f.tid = 9;
  uint64_t x = 0x9e3779b97f4a7c15;
  for (int i = 0; i < 400; i++) {
    x = x * 6364136223846793005ULL + 1442695040888963407ULL;
    int bits = i % 64;  // deltas of every width, both signs
    uint64_t step = (x >> (63 - bits)) | 1;
    f.ts += (i % 2) ? step : -step;
    f.addr += (i % 3) ? step : -step;
    f.ip = i % 5 ? f.ip : x;
    f.latency_ns = static_cast<uint32_t>(x >> (i % 32));
    f.error_code = static_cast<uint16_t>(x >> 7);
    f.fault_flags = static_cast<uint16_t>(x >> 23);
    f.stack_id = (i % 4) ? -1 : static_cast<int32_t>(x >> 33);
    faults.push_back(f);
  }
  std::string buf = encode_all(faults);
  const auto* data = reinterpret_cast<const uint8_t*>(buf.data());
  ChunkDecoder reused(data, buf.size());
  Event e;
  for (const auto& want : faults) {
    ASSERT_TRUE(reused.next(&e));
    ASSERT_EQ(e, want);
  }
  EXPECT_TRUE(reused.done());
  ChunkDecoder fresh(data, buf.size());
  for (const auto& want : faults) {
    auto got = fresh.next();
    ASSERT_TRUE(got);
    ASSERT_EQ(*got, want);
  }
}

TEST(Codec, RejectsAnOverlongVarintInAFaultRun) {
  Event f;
  f.kind = Kind::Fault;
  f.pid = f.tid = 3;
  auto streams = streams_of(encode_all({f, f}));
  streams[kGapRest].pop_back();
  streams[kGapRest].append(11, '\x80');  // the second fault's time never ends
  streams[kGapRest].append(64, '\0');
  std::string buf = chunk_of_streams(streams);
  ChunkDecoder dec(reinterpret_cast<const uint8_t*>(buf.data()), buf.size());
  Event e;
  ASSERT_TRUE(dec.next(&e));
  EXPECT_FALSE(dec.next(&e));
}

TEST(Codec, ChunkIndexRoundTripsAndRejectsGarbage) {
  ChunkIndex index;
  Event f;
  f.kind = Kind::Fault;
  for (uint64_t ms : {3, 1, 25, 24, 3, 999}) {
    f.ts = 1000 + ms * 1'000'000;
    index.add(f, 1000, 10'000'000);
  }
  f.fault_flags = VT_FAULT_INCOMPLETE;
  f.ts = 1000 + 50'000'000;
  index.add(f, 1000, 10'000'000);  // not counted, but the latest moment
  using Bins = std::vector<std::pair<uint64_t, uint32_t>>;
  EXPECT_EQ(index.fault_bins, (Bins{{0, 3}, {2, 2}, {99, 1}}));
  EXPECT_EQ(index.last_ns, 999'000'000u);
  std::string buf;
  index.encode(&buf);
  ChunkIndex back;
  ASSERT_TRUE(back.decode(reinterpret_cast<const uint8_t*>(buf.data()), buf.size()));
  EXPECT_EQ(back.fault_bins, index.fault_bins);
  EXPECT_EQ(back.last_ns, index.last_ns);
  for (size_t cut = 0; cut < buf.size(); cut++)
    EXPECT_FALSE(back.decode(reinterpret_cast<const uint8_t*>(buf.data()), cut)) << cut;
  buf.push_back(0);
  EXPECT_FALSE(back.decode(reinterpret_cast<const uint8_t*>(buf.data()), buf.size())) << "trailing bytes";
}

}  // namespace
}  // namespace vmatrace

namespace vmatrace {
namespace {

bool decodes(ChunkIndex* index, const std::string& bytes) {
  return index->decode(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size());
}

// A chunk index is read before its events, and its bins size the timeline:
// bins must ascend strictly as the writer keeps them, never wrap.
TEST(Codec, ChunkIndexRejectsBinsThatRepeatWrapOrCountNothing) {
  ChunkIndex index;
  EXPECT_TRUE(decodes(&index, varints({50, 2, 0, 4, 3, 1})));  // last_ns 50; bins 0 and 3
  using Bins = std::vector<std::pair<uint64_t, uint32_t>>;
  EXPECT_EQ(index.fault_bins, (Bins{{0, 4}, {3, 1}}));
  EXPECT_FALSE(decodes(&index, varints({50, 2, 5, 1, 0, 1}))) << "bin 5 twice";
  EXPECT_FALSE(decodes(&index, varints({50, 2, 5, 1, UINT64_MAX - 2, 1}))) << "wraps to bin 2";
  EXPECT_FALSE(decodes(&index, varints({50, 1, 5, 0}))) << "a bin of no faults";
  EXPECT_FALSE(decodes(&index, varints({50, 1000000, 5, 1}))) << "more bins than bytes";
}

// A syscall number outside the table would index tables by it downstream.
TEST(Codec, RejectsSyscallNumbersOutsideTheTable) {
  for (uint16_t sc : {uint16_t{0}, uint16_t{VT_SC_MAX}, uint16_t{32}, uint16_t{40}, uint16_t{0xffff}}) {
    Event e;
    e.kind = Kind::Syscall;
    e.sc = sc;
    std::string buf = encode_all({e});
    ChunkDecoder dec(reinterpret_cast<const uint8_t*>(buf.data()), buf.size());
    EXPECT_FALSE(dec.next().has_value()) << sc;
  }
}

// tid, then tid - pid: any pid comes back, and a crafted difference must
// not overflow (UBSan catches that in the sanitizer run).
TEST(Codec, PidFromAnyTidDifference) {
  // Exit record: kind 6, tid 5, zigzag(tid - pid), ts delta 0, exit code, flags.
  for (uint64_t zz : {uint64_t{0}, uint64_t{9}, UINT64_MAX, UINT64_MAX - 1}) {
    std::string buf = chunk_of_streams({"\x06" + varints({5, zz, 0, 0, 0})});
    ChunkDecoder dec(reinterpret_cast<const uint8_t*>(buf.data()), buf.size());
    auto e = dec.next();
    ASSERT_TRUE(e) << zz;
    int64_t diff = static_cast<int64_t>((zz >> 1) ^ (~(zz & 1) + 1));
    EXPECT_EQ(e->pid, static_cast<uint32_t>(5 - static_cast<uint64_t>(diff))) << zz;
  }
}

}  // namespace
}  // namespace vmatrace
