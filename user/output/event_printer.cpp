#include "output/event_printer.h"

#include "events/abi.h"

namespace vmatrace {

std::string EventPrinter::format(const Event& e) {
  switch (e.kind) {
    case Kind::Stats:
    case Kind::Stack:
      return "";
    case Kind::Vma:
      recent_vmas_[e.tid].push_back(e.vma);
      return "";
    case Kind::Snapshot:
      // Only a syscall's own snapshot describes its result.
      if (e.snap_reason != VT_SNAP_SYSCALL) recent_vmas_.erase(e.tid);
      return "";
    default:
      break;
  }
  const VmaInfo* vma = nullptr;
  auto it = recent_vmas_.find(e.tid);
  if (e.kind == Kind::Syscall && it != recent_vmas_.end() && e.ret >= 0) {
    auto ret = static_cast<uint64_t>(e.ret);
    for (const auto& v : it->second)
      if (v.start <= ret && ret < v.end) vma = &v;
  }
  std::string line = writer_->event(e, vma, t0_);
  if (e.kind == Kind::Syscall && it != recent_vmas_.end()) recent_vmas_.erase(it);
  return line;
}

void EventPrinter::print(const Event& e) {
  std::string line = format(e);
  if (line.empty()) return;
  line += '\n';
  fwrite(line.data(), 1, line.size(), out_);
}

}  // namespace vmatrace
