// Storms in the text report (listed first, biggest first) and in JSON.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "analysis/analysis.h"

namespace vmatrace {

std::string storms_text(const Analysis& a);
nlohmann::ordered_json storms_json(const Analysis& a);

}  // namespace vmatrace
