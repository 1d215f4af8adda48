#include "live/live_stats.h"

#include "analysis/storms.h"
#include "record/trace_file.h"
#include "events/abi.h"

namespace vmatrace {
namespace {

constexpr uint64_t kSecond = 1000000000ULL;
// find_storms() merges dips of up to this many bins: a storm is still on
// until that long after its last busy bin.
constexpr uint64_t kStormGapBins = 10;

}  // namespace

void LiveStats::on_event(const Event& e, const Model& model) {
  SecondCounts& now = seconds_.back();
  auto cause = classifier_.on_event(e, model);
  if (e.kind == Kind::Syscall) {
    now.vma_changes++;
    return;
  }
  if (!e.complete_fault()) return;
  total_faults_++;
  (e.fault_flags & VT_FAULT_MAJOR) ? now.major++ : now.minor++;
  const auto& at = model.last_fault_vma();
  if (at) now.by_lifetime[at->lifetime]++;
  if (cause) now.causes.add(*cause, e, at, model);
  timeline_.add(e);
}

void LiveStats::advance(uint64_t now_ns) {
  now_ns_ = std::max(now_ns_, now_ns);
  timeline_.advance(now_ns_);
  while (now_ns >= start_ns_ + kSecond) {
    start_ns_ += kSecond;
    seconds_.emplace_back();
    if (seconds_.size() > kSeconds + 1) seconds_.pop_front();
  }
}

const SecondCounts& LiveStats::last_second() const {
  static const SecondCounts kNone;
  return seconds_.size() >= 2 ? seconds_[seconds_.size() - 2] : kNone;
}

std::optional<Storm> LiveStats::running_storm() const {
  std::optional<Storm> s = timeline_.latest();
  if (!s || s->end_ns + kStormGapBins * kFaultBinNs < now_ns_) return std::nullopt;
  s->start_ns -= std::min(s->start_ns, t0_ns_);
  s->end_ns -= std::min(s->end_ns, t0_ns_);
  CauseTally tally;
  const uint64_t progress_start = start_ns_ - t0_ns_;
  for (size_t i = 0; i < seconds_.size(); i++) {
    uint64_t back = seconds_.size() - 1 - i;
    if (back * kSecond > progress_start) continue;  // before the start
    uint64_t second_start = progress_start - back * kSecond;
    if (second_start + kSecond > s->start_ns) tally.merge(seconds_[i].causes);
  }
  s->causes = tally.causes(classifier_, nullptr, nullptr);
  s->processes = tally.processes(classifier_, 3);
  return s;
}

}  // namespace vmatrace
