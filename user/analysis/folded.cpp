#include "analysis/folded.h"

#include <algorithm>

#include "util/escape.h"

namespace vmatrace {
namespace {

std::string comm_of(const TraceMeta& meta) {
  if (meta.command.empty()) return "pid " + std::to_string(meta.target_pid);
  const std::string& c = meta.command[0];
  auto slash = c.rfind('/');
  return slash == std::string::npos ? c : c.substr(slash + 1);
}

const std::string kUnknown = "[unknown]";

}  // namespace

FoldedCollector::FoldedCollector(const TraceMeta& meta, const Model& model)
    : model_(model), root_(escape_text(comm_of(meta))) {}

void FoldedCollector::on_event(const Event& e) {
  if (e.kind == Kind::Stack) {
    auto& ips = stacks_[e.stack_id] = e.stack;
    auto waiting = pending_.find(e.stack_id);
    if (waiting == pending_.end()) return;
    for (const Pending& p : waiting->second) fold(ips, p.pid, p.space.get());
    pending_.erase(waiting);
    return;
  }
  if (e.kind != Kind::Fault) return;
  if (e.stack_id < -1) sum_.lost++;
  if (e.stack_id < 0) return;
  auto st = stacks_.find(e.stack_id);
  if (st != stacks_.end())
    fold(st->second, e.pid, nullptr);
  else
    pending_[e.stack_id].push_back({e.pid, copy_space(e.pid)});
}

std::shared_ptr<const FoldedCollector::SpaceCopy> FoldedCollector::copy_space(uint32_t pid) {
  if (last_copy_.space && last_copy_.pid == pid && last_copy_.version == model_.version()) return last_copy_.space;
  auto copy = std::make_shared<SpaceCopy>();
  if (const AddressSpace* space = model_.space_of(pid))
    for (const auto& [start, v] : space->vmas())
      copy->push_back({v.info.start, v.info.end, v.lifetime, model_.lifetimes()[v.lifetime].info, space->name_of(v)});
  last_copy_ = {pid, model_.version(), copy};
  return copy;
}

const std::string& FoldedCollector::frame_name(uint64_t lifetime, uint64_t ip, const VmaInfo& info,
                                               const std::string& vma_name) {
  auto key = std::make_pair(lifetime, ip);
  auto it = names_.find(key);
  if (it == names_.end()) it = names_.emplace(key, escape_text(sym_.symbolize(ip, info, vma_name))).first;
  return it->second;
}

// One fault's line: its frames named with space (the VMA set when it
// happened), or with the model as it is now (null: the fault is the latest event).
void FoldedCollector::fold(const std::vector<uint64_t>& ips, uint32_t pid, const SpaceCopy* space) {
  line_ = root_;
  for (size_t i = ips.size(); i-- > 0;) {
    uint64_t ip = frame_pc(ips, i);
    const std::string* name = &kUnknown;
    if (space) {
      auto after = std::upper_bound(space->begin(), space->end(), ip,
                                    [](uint64_t a, const FrameVma& v) { return a < v.start; });
      if (after != space->begin() && ip < std::prev(after)->end) {
        const FrameVma& v = *std::prev(after);
        name = &frame_name(v.lifetime, ip, v.info, v.name);
      }
    } else if (auto id = model_.lifetime_at(pid, ip)) {
      const Lifetime& l = model_.lifetimes()[*id];
      const AddressSpace* s = model_.space_of(pid);
      const Vma* v = s ? s->find(ip) : nullptr;
      auto key = std::make_pair(*id, ip);
      auto it = names_.find(key);
      name = it != names_.end() ? &it->second : &frame_name(*id, ip, l.info, v ? s->name_of(*v) : l.name);
    }
    line_ += ';';
    line_ += *name;
  }
  folded_[line_]++;
  sum_.faults++;
}

FoldedStacks FoldedCollector::result() {
  for (const auto& [id, faults] : pending_) sum_.lost += faults.size();
  pending_.clear();
  for (const auto& [line, n] : folded_) sum_.text += line + " " + std::to_string(n) + "\n";
  sum_.stacks = folded_.size();
  return std::move(sum_);
}

}  // namespace vmatrace
