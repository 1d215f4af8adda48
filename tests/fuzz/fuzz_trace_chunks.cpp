// libFuzzer: the contents of a trace after the checksum layer (see
// chunk_input.h): records, indexes and the header's maps that a buggy
// recorder or an attacker could wrap in valid checksums.
#include "chunk_input.h"
#include "report_pipeline.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string trace = vmatrace::fuzz::trace_of(vmatrace::fuzz::split_segments(data, size));
  vmatrace::fuzz::MemFile file(reinterpret_cast<const uint8_t*>(trace.data()), trace.size());
  vmatrace::fuzz::run_report_pipeline(file.path());
  return 0;
}
