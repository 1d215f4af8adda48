// libFuzzer: /proc/PID/maps text, as the trace header carries it (the model's
// seed) and as a resync reads it while recording.
#include <cstdio>

#include "events/abi.h"
#include "model/maps_format.h"
#include "model/model.h"

using namespace vmatrace;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static FILE* null = fopen("/dev/null", "w");
  const std::string text(reinterpret_cast<const char*>(data), size);
  // The header's maps seed the model.
  TraceMeta meta;
  meta.target_pid = 7;
  meta.maps_at_attach = text;
  meta.vsyscall_line = text;
  Model seeded(meta);
  fputs(seeded.maps_text(7).c_str(), null);
  // A resync: each parsed line a VMA record, then the closing snapshot.
  Model resynced{TraceMeta{}};
  Event v;
  v.kind = Kind::Vma;
  v.pid = v.tid = 7;
  uint32_t count = 0;
  for (auto& line : parse_maps(text)) {
    fputs(format_maps_line(line.vma, line.name).c_str(), null);
    v.vma = line.vma;
    v.vma.reason = VT_VMA_SNAPSHOT;
    resynced.apply(v);
    count++;
  }
  Event s;
  s.kind = Kind::Snapshot;
  s.pid = s.tid = 7;
  s.mm = 0x1000;
  s.hi = ~0ULL;
  s.count = count;
  s.snap_reason = kSnapResync;
  resynced.apply(s);
  fputs(resynced.maps_text(7).c_str(), null);
  return 0;
}
