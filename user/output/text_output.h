// Output for people: events as strace-like lines, the report as storms
// first (each led by its diagnosis), then the summary, then the top VMAs.
// Every name is escaped by escape_text: none can start a line of its own.
#pragma once

#include <optional>
#include <string>

#include "output/output.h"

namespace vmatrace {

class TextOutput final : public Output {
 public:
  std::string event(const Event& e, const VmaInfo* vma, uint64_t t0) const override;
  void storms(const Analysis& a) override;
  void summary(const TraceMeta& meta, const ReadSummary& read, const std::string& file, const Summary& s) override;
  void model_stats(const ModelStats&) override {}  // for programs only: JSON has it
  void vmas(Model& model) override;
  std::string document() const override;

 private:
  std::optional<std::string> storms_, summary_, vmas_;
};

}  // namespace vmatrace
