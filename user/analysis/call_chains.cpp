#include "analysis/call_chains.h"

#include "analysis/symbolizer.h"

namespace vmatrace {

void CallChains::want(int32_t id, uint32_t pid, const Model& model) {
  if (id < 0 || placed_.count(id)) return;
  auto seen = seen_.find(id);
  if (seen == seen_.end()) {
    wanted_.emplace(id, pid);
    return;
  }
  place(id, seen->second, pid, model);
  seen_.erase(seen);
}

void CallChains::on_stack(const Event& e, const Model& model) {
  if (e.stack_id < 0 || placed_.count(e.stack_id)) return;
  auto wanted = wanted_.find(e.stack_id);
  if (wanted == wanted_.end()) {
    seen_[e.stack_id] = e.stack;
    return;
  }
  place(e.stack_id, e.stack, wanted->second, model);
  wanted_.erase(wanted);
}

void CallChains::place(int32_t id, const std::vector<uint64_t>& ips, uint32_t pid, const Model& model) {
  std::vector<Frame>& frames = placed_[id];
  for (size_t i = 0; i < ips.size(); i++) {
    uint64_t pc = frame_pc(ips, i);
    frames.push_back({pc, model.lifetime_at(pid, pc)});
  }
}

std::vector<std::string> CallChains::chain(int32_t id, const Model& model, Symbolizer* sym, size_t max_frames) const {
  std::vector<std::string> out;
  auto it = placed_.find(id);
  if (it == placed_.end()) return out;
  for (const Frame& f : it->second) {
    if (out.size() == max_frames) break;
    if (!f.lifetime) {
      out.push_back("[unknown]");
      continue;
    }
    const Lifetime& l = model.lifetimes()[*f.lifetime];
    out.push_back(sym->symbolize(f.pc, l.info, l.name));
  }
  return out;
}

}  // namespace vmatrace
