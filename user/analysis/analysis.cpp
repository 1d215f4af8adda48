#include "analysis/analysis.h"

#include <algorithm>
#include <cinttypes>
#include <map>
#include <tuple>
#include <unordered_map>

#include "analysis/symbolizer.h"
#include "events/abi.h"
#include "events/names.h"

namespace vmatrace {
namespace {

bool complete_fault(const Event& e) { return e.kind == Kind::Fault && !(e.fault_flags & VT_FAULT_INCOMPLETE); }

std::string range_label(const Lifetime& l) {
  char buf[64];
  snprintf(buf, sizeof(buf), "%" PRIx64 "-%" PRIx64, l.info.start, l.info.end);
  return (l.name.empty() ? std::string("[anon]") : l.name) + " " + buf;
}

// Pass 1: the fault timeline and which VMAs took faults in the window.
struct Timeline {
  std::vector<uint32_t> bins;         // faults per storm bin, whole trace
  std::vector<uint64_t> window_faults;  // by lifetime
  uint64_t last_ns = 0;
};

std::vector<Storm> find_storms(const Timeline& t, const AnalysisOptions& o, double* baseline_rate) {
  const double per_s = 1e9 / static_cast<double>(o.storm_bin_ns);
  size_t first = 0;
  while (first < t.bins.size() && t.bins[first] == 0) first++;
  std::vector<uint32_t> active(t.bins.begin() + static_cast<long>(first), t.bins.end());
  *baseline_rate = 0;
  if (active.empty()) return {};
  std::nth_element(active.begin(), active.begin() + static_cast<long>(active.size() / 2), active.end());
  double baseline = active[active.size() / 2];
  *baseline_rate = baseline * per_s;
  double limit = std::max(o.storm_threshold * baseline, o.storm_min_rate / per_s);
  std::vector<Storm> storms;
  std::vector<uint64_t> counts;
  const size_t merge_gap = 10;  // bins: a storm that dips briefly is one storm
  size_t quiet = merge_gap + 1;
  for (size_t i = first; i < t.bins.size(); i++) {
    if (t.bins[i] <= limit) {
      quiet++;
      continue;
    }
    if (quiet > merge_gap) {
      storms.emplace_back();
      storms.back().start_ns = i * o.storm_bin_ns;
      counts.push_back(0);
    }
    Storm& s = storms.back();
    s.end_ns = (i + 1) * o.storm_bin_ns;
    s.peak_rate = std::max(s.peak_rate, t.bins[i] * per_s);
    counts.back() += t.bins[i];
    quiet = 0;
  }
  // A storm starts and ends mid-bin: its edge bins may fall below the limit
  // yet still be well above the baseline. Hysteresis: take in neighbouring
  // bins above twice the baseline (and above 2 faults), up to the next storm.
  const double edge = std::max(2 * baseline, 2.0);
  for (size_t i = 0; i < storms.size(); i++) {
    uint64_t lo_bin = storms[i].start_ns / o.storm_bin_ns, hi_bin = storms[i].end_ns / o.storm_bin_ns;
    uint64_t floor_bin = i ? storms[i - 1].end_ns / o.storm_bin_ns : first;
    uint64_t ceil_bin = i + 1 < storms.size() ? storms[i + 1].start_ns / o.storm_bin_ns : t.bins.size();
    while (lo_bin > floor_bin && t.bins[lo_bin - 1] > edge) counts[i] += t.bins[--lo_bin];
    while (hi_bin < ceil_bin && t.bins[hi_bin] > edge) counts[i] += t.bins[hi_bin++];
    storms[i].start_ns = lo_bin * o.storm_bin_ns;
    storms[i].end_ns = hi_bin * o.storm_bin_ns;
  }
  std::vector<Storm> big;
  for (size_t i = 0; i < storms.size(); i++)
    if (counts[i] >= o.storm_min_faults) big.push_back(storms[i]);
  return big;
}

// One band per VMA (lifetimes of the same range and name share it: the same
// address mapped again), the busiest bands only, in address order.
std::vector<HeatRow> choose_rows(const Model& model, const Timeline& t, const AnalysisOptions& o,
                                 std::unordered_map<uint64_t, std::vector<size_t>>* rows_of_lifetime) {
  struct Band {
    uint64_t start, end, faults = 0;
    std::string label;
    std::vector<uint64_t> lifetimes;
  };
  std::map<std::tuple<uint64_t, uint64_t, std::string>, Band> bands;
  for (uint64_t id = 0; id < t.window_faults.size(); id++) {
    if (!t.window_faults[id]) continue;
    const Lifetime& l = model.lifetimes()[id];
    Band& b = bands[{l.info.start, l.info.end, l.name}];
    b.start = l.info.start;
    b.end = l.info.end;
    b.label = range_label(l);
    b.faults += t.window_faults[id];
    b.lifetimes.push_back(id);
  }
  std::vector<Band*> chosen;
  for (auto& [key, b] : bands) chosen.push_back(&b);
  std::stable_sort(chosen.begin(), chosen.end(), [](Band* a, Band* b) { return a->faults > b->faults; });
  if (chosen.size() > o.heat_max_bands) chosen.resize(o.heat_max_bands);
  std::sort(chosen.begin(), chosen.end(), [](Band* a, Band* b) { return a->start < b->start; });
  std::vector<HeatRow> rows;
  for (Band* b : chosen) {
    uint64_t pages = (b->end - b->start) >> 12;
    // Large VMAs get up to 8 rows of their own: where in them the faults were.
    uint64_t slices = std::clamp<uint64_t>(pages / 256, 1, 8);
    uint64_t step = ((pages + slices - 1) / slices) << 12;
    for (uint64_t k = 0; k < slices; k++) {
      HeatRow r;
      r.start = b->start + k * step;
      r.end = std::min(b->end, r.start + step);
      if (r.start >= r.end) break;
      r.label = b->label;
      if (slices > 1) r.label += " [" + std::to_string(k + 1) + "/" + std::to_string(slices) + "]";
      r.cells.assign(o.heat_columns, 0);
      for (uint64_t id : b->lifetimes) (*rows_of_lifetime)[id].push_back(rows.size());
      rows.push_back(std::move(r));
    }
  }
  return rows;
}

struct StormWork {
  std::unordered_map<uint64_t, uint64_t> by_lifetime;
  std::map<std::pair<uint64_t, uint64_t>, uint64_t> by_ip;  // (lifetime of ip's VMA, ip)
  std::vector<uint32_t> latencies;
  uint64_t code_outside_vmas = 0;
};

std::vector<Share> top(std::vector<Share> v, size_t n) {
  std::stable_sort(v.begin(), v.end(), [](const Share& a, const Share& b) { return a.faults > b.faults; });
  if (v.size() > n) v.resize(n);
  return v;
}

void finish_storm(Storm* s, StormWork* w, Model& model, Symbolizer* sym) {
  s->latency = percentiles(&w->latencies);
  double secs = static_cast<double>(s->end_ns - s->start_ns) / 1e9;
  s->mean_rate = secs > 0 ? static_cast<double>(s->faults) / secs : 0;
  std::vector<Share> vmas;
  for (const auto& [id, n] : w->by_lifetime) {
    const Lifetime& l = model.lifetimes()[id];
    vmas.push_back({l.name.empty() ? "[anon]" : l.name, l.info.start, l.info.end, n});
  }
  s->vmas = top(std::move(vmas), 5);
  std::map<std::string, uint64_t> by_symbol;
  for (const auto& [key, n] : w->by_ip) {
    const Lifetime& l = model.lifetimes()[key.first];
    by_symbol[sym->symbolize(key.second, l.info, l.name)] += n;
  }
  if (w->code_outside_vmas) by_symbol["[unknown]"] += w->code_outside_vmas;
  std::vector<Share> code;
  for (const auto& [name, n] : by_symbol) code.push_back({name, 0, 0, n});
  s->code = top(std::move(code), 5);
}

}  // namespace

bool heat_counts(const std::string& k, const Event& e) {
  bool major = e.fault_flags & VT_FAULT_MAJOR;
  if (k == "minor") return !major;
  if (k == "major") return major;
  if (k == "exec") return access_of(e) == Access::Exec;
  if (k == "write") return access_of(e) == Access::Write;
  if (k == "read") return access_of(e) == Access::Read;
  return true;
}

Result<Analysis> analyze(const std::string& path, const AnalysisOptions& o,
                         const std::function<void(const Event&)>& first_pass) {
  auto reader = TraceReader::open(path);
  if (!reader) return make_error(reader.error());
  const TraceMeta& meta = reader->meta();
  const uint64_t t0 = meta.clock_monotonic_ns;
  auto rel = [t0](uint64_t ts) { return ts > t0 ? ts - t0 : 0; };

  // Pass 1.
  auto whole = std::make_unique<Model>(meta);
  Model& model1 = *whole;
  Timeline t;
  auto read = reader->for_each([&](const Event& e) {
    if (first_pass) first_pass(e);
    model1.apply(e);
    if (e.kind != Kind::Stats) t.last_ns = std::max(t.last_ns, rel(e.ts));
    if (!complete_fault(e)) return;
    uint64_t r = rel(e.ts), bin = r / o.storm_bin_ns;
    if (bin >= t.bins.size()) t.bins.resize(bin + 1, 0);
    t.bins[bin]++;
    auto id = model1.last_fault_lifetime();
    if (id && r >= o.from_ns && r < o.to_ns && heat_counts(o.heat_kind, e)) {
      if (*id >= t.window_faults.size()) t.window_faults.resize(*id + 1, 0);
      t.window_faults[*id]++;
    }
  });
  if (!read) return make_error(read.error());
  model1.refresh_open_names();

  Analysis a;
  a.meta = meta;
  a.read = *read;
  a.duration_ns = t.last_ns;
  a.storms = find_storms(t, o, &a.baseline_rate);
  Heatmap& h = a.heatmap;
  h.from_ns = o.from_ns;
  h.to_ns = std::min(o.to_ns, std::max<uint64_t>(t.last_ns, o.from_ns + 1));
  h.columns = o.heat_columns;
  h.kind = o.heat_kind;
  std::unordered_map<uint64_t, std::vector<size_t>> rows_of;
  h.rows = choose_rows(model1, t, o, &rows_of);

  a.model = std::move(whole);
  if (a.storms.empty() && !o.want_heatmap) return a;

  // Pass 2: the same replay of the VMA set (lifetimes get the same ids), with
  // only the faults that a storm or the heatmap needs.
  Model model2(meta);
  std::vector<StormWork> work(a.storms.size());
  const uint64_t span = h.to_ns > h.from_ns ? h.to_ns - h.from_ns : 1;
  size_t storm_at = 0;
  auto in_storm = [&](uint64_t r) {
    // Storms are in time order; faults nearly so.
    while (storm_at > 0 && r < a.storms[storm_at].start_ns) storm_at--;
    while (storm_at + 1 < a.storms.size() && r >= a.storms[storm_at].end_ns) storm_at++;
    return !a.storms.empty() && r >= a.storms[storm_at].start_ns && r < a.storms[storm_at].end_ns;
  };
  read = reader->for_each([&](const Event& e) {
    if (!complete_fault(e)) {
      model2.apply(e);
      return;
    }
    uint64_t r = rel(e.ts);
    bool heat = o.want_heatmap && r >= h.from_ns && r < h.to_ns && heat_counts(o.heat_kind, e);
    bool storm = in_storm(r);
    if (!heat && !storm) return;
    model2.apply(e);
    auto id = model2.last_fault_lifetime();
    if (heat) {
      auto rows = id ? rows_of.find(*id) : rows_of.end();
      if (rows == rows_of.end()) {
        h.faults_outside_rows++;
      } else {
        for (size_t ri : rows->second) {
          HeatRow& row = h.rows[ri];
          if (e.addr < row.start || e.addr >= row.end) continue;
          uint32_t col = static_cast<uint32_t>((r - h.from_ns) * h.columns / span);
          row.cells[std::min(col, h.columns - 1)]++;
          row.total++;
        }
      }
    }
    if (!storm) return;
    Storm& s = a.storms[storm_at];
    StormWork& w = work[storm_at];
    s.faults++;
    (e.fault_flags & VT_FAULT_MAJOR) ? s.major++ : s.minor++;
    if (!(e.fault_flags & VT_FAULT_NO_ENTRY)) w.latencies.push_back(e.latency_ns);
    if (id) w.by_lifetime[*id]++;
    auto ip_id = model2.lifetime_at(e.pid, e.ip);
    if (ip_id)
      w.by_ip[{*ip_id, e.ip}]++;
    else
      w.code_outside_vmas++;
  });
  if (!read) return make_error(read.error());
  model2.refresh_open_names();
  Symbolizer sym;
  for (size_t i = 0; i < a.storms.size(); i++) finish_storm(&a.storms[i], &work[i], model2, &sym);
  std::stable_sort(a.storms.begin(), a.storms.end(), [](const Storm& x, const Storm& y) { return x.faults > y.faults; });
  for (const auto& row : h.rows)
    for (uint32_t c : row.cells) h.max_cell = std::max(h.max_cell, c);
  return a;
}

}  // namespace vmatrace
