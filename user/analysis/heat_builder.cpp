#include "analysis/heat_builder.h"

#include <algorithm>
#include <cinttypes>

namespace vmatrace {
namespace {

// fold_ended() looks at the lifetimes kept once they are twice as many as
// after its last look (at least this many): amortised, a fault pays O(1).
constexpr size_t kFoldAtLeast = 1024;

uint64_t step_of(uint64_t start, uint64_t end, uint32_t slices) {
  uint64_t pages = (end - start) >> 12;
  return std::max<uint64_t>(1, (pages + slices - 1) / slices) << 12;
}

std::string range_label(const std::string& name, uint64_t start, uint64_t end) {
  char buf[64];
  snprintf(buf, sizeof(buf), "%" PRIx64 "-%" PRIx64, start, end);
  return (name.empty() ? std::string("[anon]") : name) + " " + buf;
}

}  // namespace

uint32_t heat_slices(uint64_t pages) { return static_cast<uint32_t>(std::clamp<uint64_t>(pages / 256, 1, 8)); }

HeatBuilder::HeatBuilder(uint64_t from_ns, uint64_t to_ns, uint32_t columns)
    : from_ns_(from_ns), span_(to_ns > from_ns ? to_ns - from_ns : 1), columns_(columns), fold_at_cells_(kFoldAtLeast) {}

void HeatBuilder::Cells::add(uint32_t col, uint32_t slice, uint32_t columns, uint32_t n) {
  faults += n;
  uint32_t cell = col * slices + slice;  // column-major: a column's cells are neighbours
  if (!grid.empty()) {
    grid[cell] += n;
    return;
  }
  // Faults come in time order, so a cell seen before is among the last few:
  // look back over this column and the one before only. (A fault later out
  // of order may add a second entry for a cell; each() gives both.)
  const uint32_t floor = col ? (col - 1) * slices : 0;
  for (auto it = list.rbegin(); it != list.rend() && it->first >= floor; ++it)
    if (it->first == cell) {
      it->second += n;
      return;
    }
  if (list.size() < static_cast<size_t>(slices) * columns / 8) {
    list.emplace_back(cell, n);
    return;
  }
  grid.assign(static_cast<size_t>(slices) * columns, 0);
  for (const auto& [c, k] : list) grid[c] += k;
  list = {};
  grid[cell] += n;
}

template <class F>
void HeatBuilder::Cells::each(F f) const {
  for (const auto& [cell, n] : list) f(cell, n);
  for (uint32_t cell = 0; cell < grid.size(); cell++)
    if (grid[cell]) f(cell, grid[cell]);
}

void HeatBuilder::add(uint64_t r, const VmaSpan& vma, uint64_t addr) {
  const uint64_t id = vma.lifetime;
  if (id != last_lifetime_) {
    auto [it, fresh] = cells_of_.try_emplace(id, static_cast<uint32_t>(cells_.size()));
    if (fresh) {
      LifetimeCells c;
      c.lifetime = id;
      c.start = vma.start;
      c.end = vma.end;
      c.cells.slices = heat_slices((vma.end - vma.start) >> 12);
      c.step = step_of(vma.start, vma.end, c.cells.slices);
      cells_.push_back(std::move(c));
    }
    last_lifetime_ = id;
    last_index_ = it->second;
  }
  LifetimeCells& c = cells_[last_index_];
  uint64_t slice = addr > c.start ? std::min<uint64_t>((addr - c.start) / c.step, c.cells.slices - 1) : 0;
  uint64_t col = std::min<uint64_t>((r - from_ns_) * columns_ / span_, columns_ - 1);
  c.cells.add(static_cast<uint32_t>(col), static_cast<uint32_t>(slice), columns_);
}

// The band a lifetime's faults show in: its range and name at its end (or
// now, if open). One the model folded away shows with the range it had at
// its first fault.
HeatBuilder::Band& HeatBuilder::band_of(const LifetimeCells& c, const Model& model) {
  const Lifetime& l = model.lifetimes()[c.lifetime];
  const bool folded = l.info.end <= l.info.start;
  const uint64_t start = folded ? c.start : l.info.start, end = folded ? c.end : l.info.end;
  auto [it, fresh] = bands_.try_emplace(BandKey{start, end, l.name});
  Band& b = it->second;
  if (fresh) {
    b.start = start;
    b.end = end;
    b.label = range_label(l.name, start, end);
    uint32_t slices = heat_slices((end - start) >> 12);
    b.step = step_of(start, end, slices);
    uint32_t rows = 1;
    while (rows < slices && start + rows * b.step < end) rows++;
    b.rows.slices = rows;
  }
  return b;
}

// A lifetime's slice goes to the band row holding the slice's start (a
// stack that grew since has rows its first faults did not know of).
void HeatBuilder::move_to_band(const LifetimeCells& c, const Model& model) {
  Band& b = band_of(c, model);
  c.cells.each([&](uint32_t cell, uint32_t n) {
    uint64_t at = c.start + (cell % c.cells.slices) * c.step;
    uint64_t row = at > b.start ? std::min<uint64_t>((at - b.start) / b.step, b.rows.slices - 1) : 0;
    b.rows.add(cell / c.cells.slices, static_cast<uint32_t>(row), columns_, n);
  });
}

void HeatBuilder::forget_moved(const std::vector<bool>& moved) {
  std::vector<LifetimeCells> kept;
  cells_of_.clear();
  for (size_t i = 0; i < cells_.size(); i++)
    if (!moved[i]) {
      cells_of_[cells_[i].lifetime] = static_cast<uint32_t>(kept.size());
      kept.push_back(std::move(cells_[i]));
    }
  cells_.swap(kept);
  last_lifetime_ = UINT64_MAX;
}

void HeatBuilder::fold_ended(const Model& model) {
  // Also before the model folds a lifetime (kWindow ids after it), so that
  // its band is the range and name it had.
  if (cells_.size() < fold_at_cells_ && model.lifetimes().size() < fold_at_lifetimes_) return;
  std::vector<bool> moved(cells_.size());
  for (size_t i = 0; i < cells_.size(); i++) {
    const Lifetime& l = model.lifetimes()[cells_[i].lifetime];
    if (l.ended_ns || l.info.end <= l.info.start) {
      move_to_band(cells_[i], model);
      moved[i] = true;
    }
  }
  forget_moved(moved);
  fold_at_cells_ = std::max(kFoldAtLeast, 2 * cells_.size());
  fold_at_lifetimes_ = model.lifetimes().size() + Lifetimes::kWindow / 2;
}

Heatmap HeatBuilder::build(const Model& model, uint32_t max_bands) {
  for (const LifetimeCells& c : cells_) move_to_band(c, model);
  forget_moved(std::vector<bool>(cells_.size(), true));
  std::vector<const Band*> chosen;
  for (const auto& [key, b] : bands_) chosen.push_back(&b);
  std::stable_sort(chosen.begin(), chosen.end(), [](auto* a, auto* b) { return a->rows.faults > b->rows.faults; });
  Heatmap h;
  h.columns = columns_;
  h.faults_outside_rows = outside_;
  for (size_t i = max_bands; i < chosen.size(); i++) h.faults_outside_rows += chosen[i]->rows.faults;
  if (chosen.size() > max_bands) chosen.resize(max_bands);
  std::sort(chosen.begin(), chosen.end(), [](auto* a, auto* b) { return a->start < b->start; });
  for (const Band* b : chosen) {
    const uint32_t rows = b->rows.slices;
    size_t first_row = h.rows.size();
    for (uint32_t k = 0; k < rows; k++) {
      HeatRow r;
      r.start = b->start + k * b->step;
      r.end = std::min(b->end, r.start + b->step);
      r.label = b->label;
      if (rows > 1) r.label += " [" + std::to_string(k + 1) + "/" + std::to_string(rows) + "]";
      r.cells.assign(columns_, 0);
      h.rows.push_back(std::move(r));
    }
    b->rows.each([&](uint32_t cell, uint32_t n) {
      HeatRow& r = h.rows[first_row + cell % rows];
      r.cells[cell / rows] += n;
      r.total += n;
    });
  }
  for (const auto& row : h.rows)
    for (uint32_t c : row.cells) h.max_cell = std::max(h.max_cell, c);
  return h;
}

}  // namespace vmatrace
