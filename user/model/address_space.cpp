#include "model/address_space.h"

#include <algorithm>

#include "events/abi.h"
#include "events/names.h"
#include "model/maps_format.h"

namespace vmatrace {
namespace {

bool same_vma(const VmaInfo& a, const VmaInfo& b) {
  return a.start == b.start && a.end == b.end && a.flags == b.flags && a.pgoff == b.pgoff &&
         a.ino == b.ino && a.dev == b.dev && a.path == b.path && a.path_flags == b.path_flags;
}

}  // namespace

bool AddressSpace::well_formed(uint64_t lo, uint64_t hi, const std::vector<Vma>& fresh) {
  constexpr uint64_t kPageMask = 0xfff;
  if (lo > hi) return false;
  for (size_t i = 0; i < fresh.size(); i++) {
    const VmaInfo& v = fresh[i].info;
    if (v.start >= v.end || (v.start & kPageMask) || (v.end & kPageMask)) return false;
    if (i > 0 && fresh[i - 1].info.end > v.start) return false;
  }
  return true;
}

// The pages of the probed bytes (VMAs are page-granular) and every VMA returned.
RangeStamps::Range AddressSpace::cover(uint64_t lo, uint64_t hi, const std::vector<Vma>& fresh) {
  uint64_t first = lo & ~0xfffULL, last = hi | 0xfffULL;
  for (const auto& v : fresh) {
    if (v.info.start < first) first = v.info.start;
    if (v.info.end - 1 > last) last = v.info.end - 1;
  }
  return {first, last};
}

Vma AddressSpace::upper_part(const Vma& v, uint64_t start) {
  Vma part = v;
  part.info.start = start;
  if (part.info.path_flags & VT_PATH_FILE) part.info.pgoff += (start - v.info.start) >> 12;
  return part;
}

bool AddressSpace::replace(uint64_t lo, uint64_t hi, std::vector<Vma> fresh, Observer* obs, uint64_t renew_lo,
                           uint64_t renew_end) {
  if (!well_formed(lo, hi, fresh)) return false;
  // The region the kernel spoke for.
  const auto [cover_lo, cover_last] = cover(lo, hi, fresh);
  // First VMA that may overlap: the one before cover_lo can reach into it.
  auto it = vmas_.upper_bound(cover_lo);
  if (it != vmas_.begin()) {
    auto prev = std::prev(it);
    if (prev->second.info.end > cover_lo) it = prev;
  }
  std::vector<Vma>& old = old_buf_;
  old.clear();
  while (it != vmas_.end() && it->first <= cover_last) {
    old.push_back(std::move(it->second));
    it = vmas_.erase(it);
  }
  // Old and fresh are both sorted by start: match them in one pass.
  std::vector<bool> continues(fresh.size(), false);
  std::vector<Vma> kept_outside;
  size_t fi = 0;
  for (auto& v : old) {
    while (fi < fresh.size() && fresh[fi].info.start < v.info.start) fi++;
    bool renewed = renew_lo <= v.info.start && v.info.end <= renew_end;
    if (fi < fresh.size() && same_vma(fresh[fi].info, v.info) && !renewed) {
      fresh[fi].lifetime = v.lifetime;
      continues[fi] = true;
      continue;
    }
    obs->removed(v);
    // Parts the kernel did not speak for stay (the set was wrong there).
    if (v.info.start < cover_lo) {
      Vma part = v;
      part.info.end = cover_lo;
      kept_outside.push_back(part);
    }
    if (v.info.end - 1 > cover_last) kept_outside.push_back(upper_part(v, cover_last + 1));
  }
  // fresh is sorted and lies where the erased VMAs were: insert before `it`.
  std::vector<VmaIndex::Entry>& entries = index_buf_;
  entries.clear();
  auto index = [&](std::map<uint64_t, Vma>::iterator at) {
    entries.push_back({{at->first, at->second.info.end, at->second.lifetime}, &at->second});
  };
  for (size_t i = 0; i < fresh.size(); i++) {
    if (!continues[i]) obs->added(&fresh[i]);
    uint64_t start = fresh[i].info.start;
    index(vmas_.emplace_hint(it, start, std::move(fresh[i])));
  }
  for (auto& v : kept_outside) {
    obs->added(&v);
    uint64_t start = v.info.start;
    index(vmas_.emplace(start, std::move(v)).first);
  }
  std::sort(entries.begin(), entries.end(), [](const auto& a, const auto& b) { return a.span.start < b.span.start; });
  // Every start that changed lies between the first old VMA's and the last
  // VMA put in (a part kept beyond cover_last starts just past it).
  uint64_t seg_lo = old.empty() ? cover_lo : std::min(cover_lo, old.front().info.start);
  uint64_t seg_hi = entries.empty() ? cover_last : std::max(cover_last, entries.back().span.start);
  reindex(seg_lo, seg_hi, entries);
  return true;
}

void AddressSpace::clear(Observer* obs) {
  for (const auto& [start, v] : vmas_) obs->removed(v);
  vmas_.clear();
  reindex(0, UINT64_MAX, {});
}

void AddressSpace::reindex(uint64_t lo, uint64_t hi, const std::vector<VmaIndex::Entry>& now) {
  recent_[0] = recent_[1] = {};
  index_.replace(lo, hi, now);
}

const VmaIndex::Entry* AddressSpace::lookup(uint64_t addr) const {
  for (const auto& r : recent_)
    if (addr >= r.span.start && addr < r.span.end) return &r;
  const VmaIndex::Entry* e = index_.find(addr);
  if (!e) return nullptr;
  recent_[1] = recent_[0];
  recent_[0] = *e;
  return &recent_[0];
}

const VmaSpan* AddressSpace::span_at(uint64_t addr) const {
  const VmaIndex::Entry* e = lookup(addr);
  return e ? &e->span : nullptr;
}

const Vma* AddressSpace::find(uint64_t addr) const {
  const VmaIndex::Entry* e = lookup(addr);
  return e ? e->vma : nullptr;
}

Vma* AddressSpace::find(uint64_t addr) {
  return const_cast<Vma*>(static_cast<const AddressSpace*>(this)->find(addr));
}

Vma* AddressSpace::grow_stack_to(uint64_t addr) {
  auto it = vmas_.upper_bound(addr);
  if (it == vmas_.end() || !(it->second.info.flags & kVmGrowsDown)) return nullptr;
  if (it != vmas_.begin() && std::prev(it)->second.info.end > addr) return nullptr;
  Vma grown = std::move(it->second);
  uint64_t old_start = it->first;
  vmas_.erase(it);
  grown.info.start = addr & ~0xfffULL;
  // An anonymous stack's pgoff follows its start (expand_downwards).
  if (!(grown.info.path_flags & VT_PATH_FILE)) grown.info.pgoff = grown.info.start >> 12;
  auto [pos, ok] = vmas_.emplace(grown.info.start, std::move(grown));
  reindex(pos->first, old_start, {{{pos->first, pos->second.info.end, pos->second.lifetime}, &pos->second}});
  return ok ? &pos->second : nullptr;
}

std::string AddressSpace::name_of(const Vma& v) const {
  const VmaInfo& i = v.info;
  if (i.path_flags & VT_PATH_FILE) return vma_file_name(i);
  if (i.path_flags & VT_PATH_SPECIAL) return i.path;
  if (!brk_known) return "";
  bool heap = heap_strict ? (i.start < brk && i.end > start_brk) : (i.start <= brk && i.end >= start_brk);
  if (heap) return "[heap]";
  if (i.start <= start_stack && i.end >= start_stack) return "[stack]";
  return "";
}

std::string AddressSpace::maps_text(const std::string& vsyscall_line) const {
  std::string out;
  for (const auto& [start, v] : vmas_) {
    out += format_maps_line(v.info, name_of(v));
    out += '\n';
  }
  if (!vsyscall_line.empty()) out += vsyscall_line + "\n";
  return out;
}

}  // namespace vmatrace
