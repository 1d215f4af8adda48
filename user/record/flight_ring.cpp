#include "record/flight_ring.h"

#include <algorithm>

namespace vmatrace {

ChunkIndex rebase_index(const ChunkIndex& abs, uint64_t t0) {
  ChunkIndex r;
  const uint64_t first_bin = t0 / kFaultBinNs;
  r.last_ns = abs.last_ns > t0 ? abs.last_ns - t0 : 0;
  for (const auto& [bin, n] : abs.fault_bins) {
    uint64_t b = bin > first_bin ? bin - first_bin : 0;
    if (!r.fault_bins.empty() && r.fault_bins.back().first == b)
      r.fault_bins.back().second += n;
    else
      r.fault_bins.emplace_back(b, n);
  }
  return r;
}

Status FlightRing::begin_chunk(uint64_t ts) {
  FileStart start = start_fn_(ts);
  open_ = Chunk();
  open_.start_ns = open_.last_ns = ts;
  open_.meta = std::move(start.meta);
  open_.lost_at_start = lost_;
  ChunkEncoder enc;
  for (const Event& e : start.state) enc.encode(e);
  enc.finish(&raw_);
  if (auto st = framer_.compress(raw_, &open_.state); !st) return st;
  open_.state_raw = static_cast<uint32_t>(raw_.bytes.size());
  open_.state_records = static_cast<uint32_t>(start.state.size());
  have_open_ = true;
  return Ok{};
}

// Ends the open chunk at ts and opens the next, whose VMA sets are the
// model's now: everything before ts is applied, nothing after.
Status FlightRing::close_chunk(uint64_t ts) {
  if (have_open_ && open_.records > 0) {
    encoder_.finish(&raw_);
    if (auto st = framer_.compress(raw_, &open_.comp); !st) return st;
    open_.raw_len = static_cast<uint32_t>(raw_.bytes.size());
    bytes_ += open_.size();
    ring_.push_back(std::move(open_));
  }
  return begin_chunk(ts);
}

Status FlightRing::append(const Event& e) {
  if (e.kind == Kind::Stats) return Ok{};
  if (!have_open_ || encoder_.size() >= kChunkRaw)
    if (auto st = close_chunk(e.ts); !st) return st;
  encoder_.encode(e);
  open_.index.add(e, 0, kFaultBinNs);
  open_.last_ns = std::max(open_.last_ns, e.ts);
  open_.records++;
  return Ok{};
}

void FlightRing::trim(uint64_t now) {
  while (!ring_.empty() && ring_.front().last_ns + keep_ns_ < now) {
    bytes_ -= ring_.front().size();
    ring_.pop_front();
  }
  while (ring_.size() > 1 && bytes_ > budget_) {
    bytes_ -= ring_.front().size();
    ring_.pop_front();
    dropped_for_budget_++;
  }
}

Status FlightRing::tick(uint64_t now, const LostCounts& lost) {
  lost_ = lost;
  // An idle chunk starts afresh too: a dump then begins near its window.
  if (!have_open_ || now - std::min(now, open_.start_ns) >= kChunkNs)
    if (auto st = close_chunk(now); !st) return st;
  trim(now);
  return Ok{};
}

Result<FlightRing::Dump> FlightRing::dump(const std::string& path, uint64_t from_ns, uint64_t now,
                                          const LostCounts& lost, const std::string& trigger, uint64_t window_ms) {
  lost_ = lost;
  if (auto st = close_chunk(now); !st) return make_error(st.error());
  trim(now);
  auto first = std::find_if(ring_.begin(), ring_.end(), [&](const Chunk& c) { return c.last_ns >= from_ns; });
  // Nothing recorded since from_ns: the VMA sets of now, alone.
  const Chunk& head = first != ring_.end() ? *first : open_;
  const uint64_t t0 = head.start_ns / kFaultBinNs * kFaultBinNs;
  TraceMeta meta = head.meta;
  meta.clock_realtime_ns -= std::min(meta.clock_realtime_ns, meta.clock_monotonic_ns - t0);
  meta.clock_monotonic_ns = t0;
  meta.flight_trigger = trigger;
  meta.flight_window_ms = window_ms;

  auto w = TraceWriter::create(path);
  if (!w) return make_error(w.error());
  TraceWriter& out = **w;
  Dump d{path, t0, head.state_records};
  std::string framed, index;
  auto put = [&](const std::string& comp, uint32_t raw_len, uint32_t records, const ChunkIndex& abs) {
    index.clear();
    rebase_index(abs, t0).encode(&index);
    framed.clear();
    ChunkFramer::assemble(comp, raw_len, records, index, &framed);
    return out.write_chunk(framed);
  };
  ChunkIndex state_index;
  state_index.last_ns = head.start_ns;
  Status st = out.write_header(meta);
  if (st) st = out.publish();
  if (st) st = put(head.state, head.state_raw, head.state_records, state_index);
  for (auto c = first; st && c != ring_.end(); ++c) {
    st = put(c->comp, c->raw_len, c->records, c->index);
    d.events += c->records;
  }
  if (st) st = out.finish(lost_since(lost, head.lost_at_start), now);
  if (!st) return make_error(st.error());
  return d;
}

}  // namespace vmatrace
