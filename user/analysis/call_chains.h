// The call chains of sampled faults (--stacks), named as the code was mapped
// when the faults ran. A stack's frames arrive in the trace after its first
// fault (the recorder reads them from the BPF map later); they are placed in
// the VMA set as soon as both the stack and a fault that wants it were seen.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "model/model.h"

namespace vmatrace {

class Symbolizer;

class CallChains {
 public:
  // A fault that matters (in a storm) sampled stack id in process pid.
  void want(int32_t id, uint32_t pid, const Model& model);
  // A Stack event.
  void on_stack(const Event& e, const Model& model);
  // Frames innermost first as "function (module)", at most max_frames; empty
  // if the stack never came.
  std::vector<std::string> chain(int32_t id, Symbolizer* sym, size_t max_frames) const;

 private:
  struct Frame {
    uint64_t pc;
    std::optional<VmaInfo> vma;  // the VMA holding pc, as it was (lifetimes may fold by the end)
    std::string name;            // its name then
  };
  void place(int32_t id, const std::vector<uint64_t>& ips, uint32_t pid, const Model& model);

  std::unordered_map<int32_t, std::vector<uint64_t>> seen_;  // stacks not placed yet
  std::unordered_map<int32_t, uint32_t> wanted_;  // stacks wanted before they came: by pid
  std::unordered_map<int32_t, std::vector<Frame>> placed_;
};

}  // namespace vmatrace
