// libFuzzer: a whole trace file, as `vmatrace report` is handed one. Most
// inputs fail a checksum early; fuzz_trace_chunks reaches past them.
#include "report_pipeline.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  vmatrace::fuzz::MemFile file(data, size);
  vmatrace::fuzz::run_report_pipeline(file.path());
  return 0;
}
