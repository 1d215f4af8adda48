// Writes a synthetic trace (tests/bench/synthetic_trace.h) for the report
// benchmark.   make_trace OUT EVENTS [STORM_EVERY_S]
#include <cstdio>
#include <cstdlib>

#include "synthetic_trace.h"

using namespace vmatrace;

int main(int argc, char** argv) {
  if (argc != 3 && argc != 4) {
    fprintf(stderr, "usage: %s OUT EVENTS [STORM_EVERY_S]\n", argv[0]);
    return 2;
  }
  synthetic::Options o;
  o.events = strtoull(argv[2], nullptr, 0);
  if (argc == 4) o.storm_every_s = strtoull(argv[3], nullptr, 0);
  auto w = TraceWriter::create(argv[1]);
  if (!w) return fprintf(stderr, "%s\n", w.error().c_str()), 1;
  uint64_t written = synthetic::write(**w, o);
  if (!written || !(*w)->finish(LostCounts{})) return fprintf(stderr, "make_trace: writing %s failed\n", argv[1]), 1;
  printf("%lu events\n", static_cast<unsigned long>(written));
  return 0;
}
