#include "model/predict.h"

#include <sys/mman.h>

#include <cerrno>

#include "events/abi.h"
#include "model/maps_format.h"

namespace vmatrace {
namespace {

constexpr uint64_t kPage = 4096;

uint64_t page_up(uint64_t v) { return (v + kPage - 1) & ~(kPage - 1); }

uint64_t prot_flags(uint64_t prot) {
  return ((prot & PROT_READ) ? kVmRead : 0) | ((prot & PROT_WRITE) ? kVmWrite : 0) |
         ((prot & PROT_EXEC) ? kVmExec : 0);
}

// The parts of every VMA overlapping [lo, end), clipped to it.
std::vector<Vma> clipped(const AddressSpace& s, uint64_t lo, uint64_t end) {
  std::vector<Vma> out;
  // From the VMA that may reach into lo, to the first starting at or past end.
  auto it = s.vmas().upper_bound(lo);
  if (it != s.vmas().begin()) --it;
  for (; it != s.vmas().end() && it->first < end; ++it) {
    const Vma& v = it->second;
    if (v.info.end <= lo) continue;
    Vma part = v;
    if (part.info.start < lo) {
      if (part.info.path_flags & VT_PATH_FILE) part.info.pgoff += (lo - part.info.start) / kPage;
      part.info.start = lo;
    }
    if (part.info.end > end) part.info.end = end;
    out.push_back(part);
  }
  return out;
}

Prediction replace_with(uint64_t lo, uint64_t end, std::vector<Vma> fresh) {
  Prediction p;
  p.lo = lo;
  p.hi = end - 1;
  p.fresh = std::move(fresh);
  return p;
}

std::vector<Prediction> predict_mmap(const Event& e) {
  uint64_t len = page_up(e.args[1]);
  if (e.ret < 0 || len == 0) return {};
  Vma v;
  v.info.start = static_cast<uint64_t>(e.ret);
  v.info.end = v.info.start + len;
  v.info.flags = prot_flags(e.args[2]) | ((e.args[3] & MAP_SHARED) ? kVmMayShare : 0);
  return {replace_with(v.info.start, v.info.end, {v})};
}

std::vector<Prediction> predict_mprotect(const AddressSpace& s, const Event& e) {
  uint64_t lo = e.args[0], end = lo + page_up(e.args[1]);
  if (e.ret != 0 || end <= lo) return {};
  auto parts = clipped(s, lo, end);
  for (auto& v : parts) v.info.flags = (v.info.flags & ~(kVmRead | kVmWrite | kVmExec)) | prot_flags(e.args[2]);
  return {replace_with(lo, end, std::move(parts))};
}

std::vector<Prediction> predict_mremap(const AddressSpace& s, const Event& e) {
  uint64_t old = e.args[0], old_len = page_up(e.args[1]), new_len = page_up(e.args[2]);
  // Predicting is for kernels before 6.7, which unmapped a MREMAP_FIXED
  // target before they looked for the source: EFAULT says it was not there.
  if (e.ret == -EFAULT && (e.args[3] & MREMAP_FIXED) && new_len)
    return {replace_with(e.args[4], e.args[4] + new_len, {})};
  if (e.ret < 0 || old_len == 0) return {};
  auto moved = clipped(s, old, old + old_len);
  if (moved.empty()) return {};
  uint64_t to = static_cast<uint64_t>(e.ret);
  // Shift to the new place, then fit the last piece to the new size.
  std::vector<Vma> fresh;
  for (auto v : moved) {
    uint64_t off = v.info.start - old;
    if (off >= new_len) break;
    v.info.start = to + off;
    v.info.end = std::min(to + (v.info.end - old), to + new_len);
    fresh.push_back(v);
  }
  if (!fresh.empty() && new_len > old_len) fresh.back().info.end = to + new_len;
  std::vector<Prediction> out;
  bool keep_source = e.args[3] & MREMAP_DONTUNMAP;
  if (to != old && !keep_source) out.push_back(replace_with(old, old + old_len, {}));
  if (to == old && new_len < old_len) out.push_back(replace_with(old, old + old_len, {}));
  out.push_back(replace_with(to, to + std::max(new_len, to == old ? old_len : new_len), std::move(fresh)));
  return out;
}

// The heap is the VMA /proc called [heap]; brk moves its end.
std::vector<Prediction> predict_brk(const AddressSpace& s, const Event& e) {
  for (const auto& [start, v] : s.vmas()) {
    if (!(v.info.path_flags & VT_PATH_SPECIAL) || v.info.path != "[heap]") continue;
    uint64_t end = page_up(static_cast<uint64_t>(e.ret));
    if (end <= v.info.start || end == v.info.end) return {};
    Vma grown = v;
    grown.info.end = end;
    return {replace_with(v.info.start, std::max(end, v.info.end), {grown})};
  }
  return {};
}

}  // namespace

std::vector<Prediction> predict(const AddressSpace& space, const Event& e) {
  switch (e.sc) {
    case VT_SC_MMAP:
      return predict_mmap(e);
    case VT_SC_MUNMAP:
      if (e.ret != 0 || e.args[1] == 0) return {};
      return {replace_with(e.args[0], e.args[0] + page_up(e.args[1]), {})};
    case VT_SC_MPROTECT:
    case VT_SC_PKEY_MPROTECT:
      return predict_mprotect(space, e);
    case VT_SC_MREMAP:
      return predict_mremap(space, e);
    case VT_SC_BRK:
      return predict_brk(space, e);
    default:
      return {};
  }
}

}  // namespace vmatrace
