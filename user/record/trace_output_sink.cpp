#include "record/trace_output_sink.h"

#include <signal.h>
#include <time.h>

namespace vmatrace {
namespace {

volatile sig_atomic_t g_dump = 0;

void on_dump_signal(int) { g_dump = 1; }

uint64_t monotonic_now() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1000000000ULL + static_cast<uint64_t>(ts.tv_nsec);
}

}  // namespace

TraceOutputSink::TraceOutputSink(TraceOutput& out, bool dump_on_sigusr1) : out_(out) {
  if (!dump_on_sigusr1) return;
  struct sigaction sa{};
  sa.sa_handler = on_dump_signal;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGUSR1, &sa, nullptr);
}

Status TraceOutputSink::tick(const Tick& t) {
  last_tick_ns_ = t.now_ns;
  if (g_dump) {
    g_dump = 0;
    out_.request_dump();
  }
  if (status_) status_ = out_.poll(t.now_ns, t.lost);
  return status_;
}

// A trace cut short (SIGKILL, power loss) still says what was lost up to its
// last chunk: the source puts the counters into the stream as they grow.
Status TraceOutputSink::flush(const Tick& t) {
  if (status_) status_ = out_.flush(t.now_ns, t.lost);
  return status_;
}

Status TraceOutputSink::finish(const LostCounts& lost) {
  if (!status_) return status_;
  return out_.finish(last_tick_ns_ ? last_tick_ns_ : monotonic_now(), lost);
}

}  // namespace vmatrace
