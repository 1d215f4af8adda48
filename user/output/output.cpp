#include "output/output.h"

#include "output/json_output.h"
#include "output/text_output.h"

namespace vmatrace {

std::unique_ptr<Output> make_output(OutputFormat format) {
  if (format == OutputFormat::Json) return std::make_unique<JsonOutput>();
  return std::make_unique<TextOutput>();
}

}  // namespace vmatrace
