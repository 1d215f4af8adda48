#include "record/trace_source.h"

namespace vmatrace {

Result<TraceFileSource> TraceFileSource::open(const std::string& path) {
  auto reader = TraceReader::open(path);
  if (!reader) return make_error(reader.error());
  return TraceFileSource(std::move(*reader));
}

Status TraceFileSource::run(Sink& sink) {
  auto read = reader_.for_each([&sink](const Event& e) { sink.on_event(e); });
  if (!read) return make_error(read.error());
  read_ = *read;
  return Ok{};
}

}  // namespace vmatrace
