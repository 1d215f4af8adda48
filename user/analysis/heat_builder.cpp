#include "analysis/heat_builder.h"

#include <algorithm>
#include <cinttypes>
#include <map>
#include <tuple>

namespace vmatrace {
namespace {

constexpr uint32_t kNone = UINT32_MAX;

uint64_t step_of(uint64_t start, uint64_t end, uint32_t slices) {
  uint64_t pages = (end - start) >> 12;
  return std::max<uint64_t>(1, (pages + slices - 1) / slices) << 12;
}

std::string range_label(const Lifetime& l) {
  char buf[64];
  snprintf(buf, sizeof(buf), "%" PRIx64 "-%" PRIx64, l.info.start, l.info.end);
  return (l.name.empty() ? std::string("[anon]") : l.name) + " " + buf;
}

}  // namespace

uint32_t heat_slices(uint64_t pages) { return static_cast<uint32_t>(std::clamp<uint64_t>(pages / 256, 1, 8)); }

HeatBuilder::HeatBuilder(uint64_t from_ns, uint64_t to_ns, uint32_t columns)
    : from_ns_(from_ns), span_(to_ns > from_ns ? to_ns - from_ns : 1), columns_(columns) {}

void HeatBuilder::Cells::add(uint32_t col, uint32_t slice, uint32_t columns) {
  faults++;
  uint32_t cell = col * slices + slice;  // column-major: a column's cells are neighbours
  if (!grid.empty()) {
    grid[cell]++;
    return;
  }
  // Faults come in time order, so a cell seen before is among the last few:
  // look back over this column and the one before only. (A fault later out
  // of order may add a second entry for a cell; build() adds them up.)
  const uint32_t floor = col ? (col - 1) * slices : 0;
  for (auto it = list.rbegin(); it != list.rend() && it->first >= floor; ++it)
    if (it->first == cell) {
      it->second++;
      return;
    }
  if (list.size() < static_cast<size_t>(slices) * columns / 8) {
    list.emplace_back(cell, 1);
    return;
  }
  grid.assign(static_cast<size_t>(slices) * columns, 0);
  for (const auto& [c, n] : list) grid[c] += n;
  list = {};
  grid[cell]++;
}

void HeatBuilder::add(uint64_t r, const VmaSpan& vma, uint64_t addr) {
  const uint64_t id = vma.lifetime;
  if (id >= cells_of_.size()) cells_of_.resize(id + 1, kNone);
  if (cells_of_[id] == kNone) {
    cells_of_[id] = static_cast<uint32_t>(cells_.size());
    Cells c;
    c.lifetime = id;
    c.start = vma.start;
    c.end = vma.end;
    c.slices = heat_slices((vma.end - vma.start) >> 12);
    c.step = step_of(vma.start, vma.end, c.slices);
    cells_.push_back(std::move(c));
  }
  Cells& c = cells_[cells_of_[id]];
  uint64_t slice = addr > c.start ? std::min<uint64_t>((addr - c.start) / c.step, c.slices - 1) : 0;
  uint64_t col = std::min<uint64_t>((r - from_ns_) * columns_ / span_, columns_ - 1);
  c.add(static_cast<uint32_t>(col), static_cast<uint32_t>(slice), columns_);
}

Heatmap HeatBuilder::build(const Model& model, uint32_t max_bands) const {
  struct Band {
    uint64_t start, end, faults = 0;
    std::string label;
    std::vector<size_t> cells;  // indexes into cells_
  };
  std::map<std::tuple<uint64_t, uint64_t, std::string>, Band> bands;
  for (size_t i = 0; i < cells_.size(); i++) {
    const Lifetime* l = &model.lifetimes()[cells_[i].lifetime];
    Lifetime folded;  // folded away by the model: shown with the range it had at its first fault
    if (l->info.end <= l->info.start) {
      folded = *l;
      folded.info.start = cells_[i].start;
      folded.info.end = cells_[i].end;
      l = &folded;
    }
    Band& b = bands[{l->info.start, l->info.end, l->name}];
    b.start = l->info.start;
    b.end = l->info.end;
    b.label = range_label(*l);
    b.faults += cells_[i].faults;
    b.cells.push_back(i);
  }
  std::vector<const Band*> chosen;
  for (const auto& [key, b] : bands) chosen.push_back(&b);
  std::stable_sort(chosen.begin(), chosen.end(), [](auto* a, auto* b) { return a->faults > b->faults; });
  Heatmap h;
  h.columns = columns_;
  h.faults_outside_rows = outside_;
  for (size_t i = max_bands; i < chosen.size(); i++) h.faults_outside_rows += chosen[i]->faults;
  if (chosen.size() > max_bands) chosen.resize(max_bands);
  std::sort(chosen.begin(), chosen.end(), [](auto* a, auto* b) { return a->start < b->start; });
  for (const Band* b : chosen) {
    uint32_t slices = heat_slices((b->end - b->start) >> 12);
    uint64_t step = step_of(b->start, b->end, slices);
    size_t first_row = h.rows.size();
    for (uint32_t k = 0; k < slices && b->start + k * step < b->end; k++) {
      HeatRow r;
      r.start = b->start + k * step;
      r.end = std::min(b->end, r.start + step);
      r.label = b->label;
      if (slices > 1) r.label += " [" + std::to_string(k + 1) + "/" + std::to_string(slices) + "]";
      r.cells.assign(columns_, 0);
      h.rows.push_back(std::move(r));
    }
    size_t rows = h.rows.size() - first_row;
    // A lifetime's slice goes to the band row holding the slice's start (a
    // stack that grew since has rows its first faults did not know of).
    auto count = [&](const Cells& c, uint32_t cell, uint32_t n) {
      uint64_t at = c.start + (cell % c.slices) * c.step;
      size_t row = at > b->start ? std::min<size_t>((at - b->start) / step, rows - 1) : 0;
      HeatRow& r = h.rows[first_row + row];
      r.cells[cell / c.slices] += n;
      r.total += n;
    };
    for (size_t i : b->cells) {
      const Cells& c = cells_[i];
      for (const auto& [cell, n] : c.list) count(c, cell, n);
      for (uint32_t cell = 0; cell < c.grid.size(); cell++)
        if (c.grid[cell]) count(c, cell, c.grid[cell]);
    }
  }
  for (const auto& row : h.rows)
    for (uint32_t c : row.cells) h.max_cell = std::max(h.max_cell, c);
  return h;
}

}  // namespace vmatrace
