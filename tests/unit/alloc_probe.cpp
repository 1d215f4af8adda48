#include "alloc_probe.h"

#include <malloc.h>

#include <atomic>
#include <cstdlib>
#include <new>

namespace {

std::atomic<int> probes{0};
std::atomic<size_t> largest{0};
// Bytes in use (as malloc counts them) and their peak, always kept: a probe
// only reads them.
std::atomic<size_t> in_use{0}, peak{0};
size_t peak_base = 0;  // in use when the last PeakHeap began

void raise_to(std::atomic<size_t>* max, size_t n) {
  size_t seen = max->load(std::memory_order_relaxed);
  while (n > seen && !max->compare_exchange_weak(seen, n)) {
  }
}

void* allocate(size_t n) {
  if (probes.load(std::memory_order_relaxed) > 0) raise_to(&largest, n);
  void* p = std::malloc(n ? n : 1);
  if (!p) throw std::bad_alloc();
  const size_t size = malloc_usable_size(p);
  raise_to(&peak, in_use.fetch_add(size, std::memory_order_relaxed) + size);
  return p;
}

void release(void* p) {
  if (!p) return;
  in_use.fetch_sub(malloc_usable_size(p), std::memory_order_relaxed);
  std::free(p);
}

}  // namespace

// Replaces the global allocation functions of the unit-test binary only
// (all that pair with free(): under ASan a mismatched pair is an error).
void* operator new(size_t n) { return allocate(n); }
void* operator new[](size_t n) { return allocate(n); }
void* operator new(size_t n, const std::nothrow_t&) noexcept {
  try {
    return allocate(n);
  } catch (const std::bad_alloc&) {
    return nullptr;
  }
}
void* operator new[](size_t n, const std::nothrow_t& t) noexcept { return operator new(n, t); }
void operator delete(void* p) noexcept { release(p); }
void operator delete[](void* p) noexcept { release(p); }
void operator delete(void* p, size_t) noexcept { release(p); }
void operator delete[](void* p, size_t) noexcept { release(p); }
void operator delete(void* p, const std::nothrow_t&) noexcept { release(p); }
void operator delete[](void* p, const std::nothrow_t&) noexcept { release(p); }

namespace vmatrace {

LargestAllocation::LargestAllocation() {
  largest = 0;
  probes++;
}

LargestAllocation::~LargestAllocation() { probes--; }

size_t LargestAllocation::bytes() const { return largest.load(); }

PeakHeap::PeakHeap() {
  peak_base = in_use.load();
  peak = peak_base;
}

PeakHeap::~PeakHeap() = default;

size_t PeakHeap::bytes() const { return peak.load() - peak_base; }

}  // namespace vmatrace
