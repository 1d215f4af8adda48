// Builds the fault heatmap in the same pass that replays the VMA model: each
// fault is counted in its VMA lifetime's cells (slice of the VMA x time
// column) as it comes; at the end, lifetimes of the same range and name
// become one band, and the busiest bands become the rows.
#pragma once

#include <cstdint>
#include <string>
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

  // The heatmap of the busiest max_bands bands (model: after refresh_open_names()).
  Heatmap build(const Model& model, uint32_t max_bands) const;

 private:
  // One lifetime's faults. Few cells are kept as a list (a VMA that took a
  // handful of faults costs a handful of entries), more than an eighth of
  // its grid as the grid.
  struct Cells {
    uint64_t lifetime = 0;
    uint64_t start = 0, end = 0, step = 0;  // its range and slices, fixed at its first fault
    uint32_t slices = 1;
    std::vector<std::pair<uint32_t, uint32_t>> list;  // (cell, faults); cell: column * slices + slice
    std::vector<uint32_t> grid;                       // by cell, once the list is long
    uint64_t faults = 0;
    void add(uint32_t col, uint32_t slice, uint32_t columns);
  };

  uint64_t from_ns_, span_;
  uint32_t columns_;
  std::vector<uint32_t> cells_of_;  // by lifetime id: index into cells_ (none: UINT32_MAX)
  std::vector<Cells> cells_;
  uint64_t outside_ = 0;
};

// How a VMA of this many pages is split into rows: up to 8 slices of at least 256 pages.
uint32_t heat_slices(uint64_t pages);

}  // namespace vmatrace
