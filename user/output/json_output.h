// Output for programs: events as JSON lines, the report as one object (the
// summary's members, then "storms", "model" and "vmas"); the README's JSON
// schema describes both. Names are carried as their bytes (dump_json).
#pragma once

#include <string>

#include <nlohmann/json.hpp>

#include "output/output.h"

namespace vmatrace {

class JsonOutput final : public Output {
 public:
  std::string event(const Event& e, const VmaInfo* vma, uint64_t t0) const override;
  void storms(const Analysis& a) override;
  void summary(const TraceMeta& meta, const ReadSummary& read, const std::string& file, const Summary& s) override;
  void model_stats(const ModelStats& s) override;
  void vmas(Model& model) override;
  std::string document() const override;

  // The report as a JSON object (what document() prints).
  nlohmann::ordered_json json() const;

 private:
  nlohmann::ordered_json summary_ = nlohmann::ordered_json::object();
  nlohmann::ordered_json storms_, model_, vmas_;  // null until written
};

}  // namespace vmatrace
