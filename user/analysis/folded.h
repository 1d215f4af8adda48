// Folded stacks ("comm;outer;inner count" lines) of the faults whose user
// stack was sampled with --stacks: input for FlameGraph and speedscope.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "analysis/symbolizer.h"
#include "model/model.h"
#include "pipeline/sink.h"

namespace vmatrace {

struct FoldedStacks {
  std::string text;     // one "comm;outer;...;inner count" line per stack, names escaped by escape_text
  uint64_t stacks = 0;  // distinct folded lines
  uint64_t faults = 0;  // faults with a stack
  uint64_t lost = 0;    // faults whose stack could not be taken
};

// A sink of the report's pass, after the model. Frames are named with the
// VMAs mapped when the fault happened; a stack is written after the first
// fault naming it, so until it comes such faults keep a copy of their
// process's VMA set (one per set version, shared by the faults at it).
class FoldedCollector final : public Sink {
 public:
  FoldedCollector(const TraceMeta& meta, const Model& model);
  void on_event(const Event& e) override;
  // Once every event went by: faults whose stack never came count as lost.
  FoldedStacks result();

 private:
  // What naming a frame needs of a VMA, as it was at the fault.
  struct FrameVma {
    uint64_t start = 0, end = 0, lifetime = 0;
    VmaInfo info;      // the lifetime's
    std::string name;  // as maps printed it then
  };
  using SpaceCopy = std::vector<FrameVma>;  // by start
  struct Pending {
    uint32_t pid;
    std::shared_ptr<const SpaceCopy> space;
  };
  std::shared_ptr<const SpaceCopy> copy_space(uint32_t pid);
  void fold(const std::vector<uint64_t>& ips, uint32_t pid, const SpaceCopy* space);
  const std::string& frame_name(uint64_t lifetime, uint64_t ip, const VmaInfo& info, const std::string& vma_name);

  const Model& model_;
  std::string root_;
  Symbolizer sym_;
  std::unordered_map<int32_t, std::vector<uint64_t>> stacks_;
  std::unordered_map<int32_t, std::vector<Pending>> pending_;  // by stack id
  struct {
    uint32_t pid = 0;
    uint64_t version = UINT64_MAX;
    std::shared_ptr<const SpaceCopy> space;
  } last_copy_;
  std::map<std::pair<uint64_t, uint64_t>, std::string> names_;  // (lifetime, ip)
  std::map<std::string, uint64_t> folded_;
  std::string line_;  // reused
  FoldedStacks sum_;
};

}  // namespace vmatrace
