#include "analysis/folded.h"

#include <map>
#include <unordered_map>

#include "analysis/symbolizer.h"
#include "model/model.h"
#include "record/trace_file.h"
#include "util/escape.h"

namespace vmatrace {
namespace {

std::string comm_of(const TraceMeta& meta) {
  if (meta.command.empty()) return "pid " + std::to_string(meta.target_pid);
  const std::string& c = meta.command[0];
  auto slash = c.rfind('/');
  return slash == std::string::npos ? c : c.substr(slash + 1);
}

}  // namespace

Result<FoldedStacks> fold_stacks(const std::string& trace_path) {
  auto reader = TraceReader::open(trace_path);
  if (!reader) return make_error(reader.error());
  std::unordered_map<int32_t, std::vector<uint64_t>> stacks;
  auto read = reader->for_each([&](const Event& e) {
    if (e.kind == Kind::Stack) stacks[e.stack_id] = e.stack;
  });
  if (!read) return make_error(read.error());

  Model model(reader->meta());
  Symbolizer sym;
  // Frames are named with the VMAs mapped when the fault happened.
  std::map<std::pair<uint64_t, uint64_t>, std::string> names;  // (lifetime, ip)
  std::map<std::string, uint64_t> folded;
  FoldedStacks sum;
  const std::string root = escape_text(comm_of(reader->meta()));
  read = reader->for_each([&](const Event& e) {
    model.apply(e);
    if (e.kind != Kind::Fault) return;
    if (e.stack_id < -1) sum.lost++;
    auto st = e.stack_id >= 0 ? stacks.find(e.stack_id) : stacks.end();
    if (st == stacks.end()) {
      if (e.stack_id >= 0) sum.lost++;
      return;
    }
    std::string line = root;
    const auto& ips = st->second;
    for (size_t i = ips.size(); i-- > 0;) {
      uint64_t ip = frame_pc(ips, i);
      auto id = model.lifetime_at(e.pid, ip);
      std::string name = "[unknown]";
      if (id) {
        auto key = std::make_pair(*id, ip);
        auto it = names.find(key);
        if (it == names.end()) {
          const Lifetime& l = model.lifetimes()[*id];
          auto space = model.space_of(e.pid);
          const Vma* v = space ? space->find(ip) : nullptr;
          it = names.emplace(key, escape_text(sym.symbolize(ip, l.info, v ? space->name_of(*v) : l.name))).first;
        }
        name = it->second;
      }
      line += ";" + name;
    }
    folded[line]++;
    sum.faults++;
  });
  if (!read) return make_error(read.error());
  for (const auto& [line, n] : folded) sum.text += line + " " + std::to_string(n) + "\n";
  sum.stacks = folded.size();
  return sum;
}

}  // namespace vmatrace
