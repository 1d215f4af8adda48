// libFuzzer: ring-buffer samples as the BPF side hands them over (a record
// or a batch of them). Every record that decodes goes where the recorder
// sends it — summary, model, event lines, the trace codec — and must come
// back from the codec exactly as it went in.
#include <cstdio>
#include <cstdlib>

#include "events/event.h"
#include "model/model.h"
#include "record/codec.h"
#include "output/event_printer.h"
#include "output/json_output.h"
#include "report/summary.h"

using namespace vmatrace;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static FILE* null = fopen("/dev/null", "w");
  TraceMeta meta;
  meta.target_pid = 7;
  meta.maps_at_attach = "00400000-00401000 r-xp 00000000 fe:00 1 /bin/x\n";
  Model model(meta);
  Summary summary;
  EventPrinter text(null, false, 0), json(null, true, 0);
  ChunkEncoder enc;
  std::vector<Event> sent;
  for_each_record(data, size, [&](Event& e) {
    summary.add(e);
    model.apply(e);
    text.print(e);
    json.print(e);
    enc.encode(e);
    sent.push_back(e);
  });
  const std::string raw = enc.finish();
  ChunkDecoder dec(reinterpret_cast<const uint8_t*>(raw.data()), raw.size());
  for (const Event& e : sent) {
    auto back = dec.next();
    if (!back || !(*back == e)) {
      fprintf(stderr, "codec round trip differs for a %d record\n", static_cast<int>(e.kind));
      abort();
    }
  }
  if (!dec.done()) abort();
  fputs(model.maps_text(7).c_str(), null);
  JsonOutput out;
  out.summary(meta, ReadSummary{}, "", summary);
  fputs(out.document().c_str(), null);
  return 0;
}
