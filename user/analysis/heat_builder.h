// Builds the fault heatmap in the same pass that replays the VMA model: each
// fault is counted in its VMA lifetime's cells (slice of the VMA x time
// column) as it comes; lifetimes of the same range and name become one band,
// and at the end the busiest bands become the rows.
//
// Memory follows the live VMAs, not the faults: once a lifetime has ended
// its cells move into its band (folded in as the rows of the band will show
// them), so a process that maps and unmaps for ever costs one band per range
// it uses, and the cells of the lifetimes still open.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <tuple>
#include <unordered_map>
#include <utility>
#include <vector>

#include "analysis/analysis.h"

namespace vmatrace {

class HeatBuilder {
 public:
  // Columns split [from_ns, to_ns) (since the trace start) evenly.
  HeatBuilder(uint64_t from_ns, uint64_t to_ns, uint32_t columns);

  // A fault at time r and address addr, in the VMA vma.
  void add(uint64_t r, const VmaSpan& vma, uint64_t addr);
  void add_outside() { outside_++; }  // a fault charged to no VMA

  // Moves the cells of lifetimes that have ended into their bands, once
  // enough of them may have piled up (cheap otherwise): call it after add()
  // with the model as of that fault.
  void fold_ended(const Model& model);

  // The heatmap of the busiest max_bands bands (model: after refresh_open_names()).
  // Consumes what was counted.
  Heatmap build(const Model& model, uint32_t max_bands);

  // Lifetimes whose cells are kept on their own (not yet in a band).
  size_t lifetimes_kept() const { return cells_.size(); }
  size_t bands() const { return bands_.size(); }

 private:
  // Faults by cell. Few cells are kept as a list (a VMA that took a handful
  // of faults costs a handful of entries), more than an eighth of the grid
  // as the grid.
  struct Cells {
    uint32_t slices = 1;
    std::vector<std::pair<uint32_t, uint32_t>> list;  // (cell, faults); cell: column * slices + slice
    std::vector<uint32_t> grid;                       // by cell, once the list is long
    uint64_t faults = 0;
    void add(uint32_t col, uint32_t slice, uint32_t columns, uint32_t n = 1);
    template <class F>
    void each(F f) const;  // f(cell, faults) for every cell with faults
  };
  // One lifetime's cells, sliced as the VMA was at its first fault.
  struct LifetimeCells {
    uint64_t lifetime = 0;
    uint64_t start = 0, end = 0, step = 0;
    Cells cells;
  };
  // The faults of the lifetimes of one range and name; a slice is a row.
  struct Band {
    uint64_t start = 0, end = 0, step = 0;
    std::string label;
    Cells rows;
  };
  using BandKey = std::tuple<uint64_t, uint64_t, std::string>;  // start, end, name

  Band& band_of(const LifetimeCells& c, const Model& model);
  void move_to_band(const LifetimeCells& c, const Model& model);
  void forget_moved(const std::vector<bool>& moved);

  uint64_t from_ns_, span_;
  uint32_t columns_;
  std::vector<LifetimeCells> cells_;
  std::unordered_map<uint64_t, uint32_t> cells_of_;  // lifetime id -> index into cells_
  uint64_t last_lifetime_ = UINT64_MAX;  // add()'s last lifetime and its index:
  uint32_t last_index_ = 0;              // faults come in runs from one VMA
  std::map<BandKey, Band> bands_;
  size_t fold_at_cells_;           // fold_ended() works once this many lifetimes are kept...
  uint64_t fold_at_lifetimes_ = 0;  // ...or the model has handed out this many ids
  uint64_t outside_ = 0;
};

// How a VMA of this many pages is split into rows: up to 8 slices of at least 256 pages.
uint32_t heat_slices(uint64_t pages);

}  // namespace vmatrace
