#include "pipeline/sink.h"

namespace vmatrace {

Status Fanout::begin(const TraceMeta& meta) {
  for (Sink* s : sinks_)
    if (auto st = s->begin(meta); !st) return st;
  return Ok{};
}

Status Fanout::tick(const Tick& t) {
  for (Sink* s : sinks_)
    if (auto st = s->tick(t); !st) return st;
  return Ok{};
}

Status Fanout::flush(const Tick& t) {
  for (Sink* s : sinks_)
    if (auto st = s->flush(t); !st) return st;
  return Ok{};
}

bool Fanout::stop_requested() const {
  for (const Sink* s : sinks_)
    if (s->stop_requested()) return true;
  return false;
}

Status Fanout::finish(const LostCounts& lost) {
  for (Sink* s : sinks_)
    if (auto st = s->finish(lost); !st) return st;
  return Ok{};
}

}  // namespace vmatrace
