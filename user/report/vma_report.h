// Per-VMA views of the model: every lifetime as JSON, the top VMAs by faults.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "model/model.h"

namespace vmatrace {

nlohmann::ordered_json vmas_json(Model& model);
std::string top_vmas_text(Model& model, size_t n);
nlohmann::ordered_json model_stats_json(const ModelStats& s);

}  // namespace vmatrace
