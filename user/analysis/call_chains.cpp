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
  const AddressSpace* space = model.space_of(pid);
  for (size_t i = 0; i < ips.size(); i++) {
    Frame f{frame_pc(ips, i), std::nullopt, ""};
    if (const Vma* v = space ? space->find(f.pc) : nullptr) {
      f.vma = v->info;
      f.name = space->name_of(*v);
    }
    frames.push_back(std::move(f));
  }
}

std::vector<std::string> CallChains::chain(int32_t id, Symbolizer* sym, size_t max_frames) const {
  std::vector<std::string> out;
  auto it = placed_.find(id);
  if (it == placed_.end()) return out;
  for (const Frame& f : it->second) {
    if (out.size() == max_frames) break;
    out.push_back(f.vma ? sym->symbolize(f.pc, *f.vma, f.name) : "[unknown]");
  }
  return out;
}

}  // namespace vmatrace
