#include "record/trace_sink.h"

namespace vmatrace {

// A trace cut short (SIGKILL, power loss) still says what was lost up to its
// last chunk: the cumulative counters go into the file whenever they grew.
Status TraceWriterSink::flush(const Tick& t) {
  if (t.lost.total() != lost_persisted_ && status_) {
    Event stats;
    stats.kind = Kind::Stats;
    stats.ts = t.now_ns;
    stats.lost = t.lost;
    status_ = writer_.append(stats);
    lost_persisted_ = t.lost.total();
  }
  if (!status_) return status_;
  return writer_.flush();
}

Status TraceWriterSink::finish(const LostCounts& lost) {
  if (!status_) return status_;
  return writer_.finish(lost);
}

}  // namespace vmatrace
