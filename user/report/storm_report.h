// Storms in the text report (listed first, biggest first, each led by its
// diagnosis) and in JSON; the diagnosis also labels storms in the heatmap,
// in Perfetto and in the live view.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "analysis/analysis.h"
#include "util/escape.h"

namespace vmatrace {

std::string storms_text(const Analysis& a);
nlohmann::ordered_json storms_json(const Analysis& a);

// One sentence on why: the main cause with its process and evidence, its
// share, and the other causes above 5%. Names in it are escaped (mode: as
// for a text line, or also where they are not UTF-8), so it can be printed
// as it is.
std::string storm_diagnosis(const Storm& s, TextEscape mode = TextEscape::Kernel);
// A few words: "copy-on-write after fork 99% in pid 1235 (cow)".
std::string storm_cause_label(const Storm& s, TextEscape mode = TextEscape::Kernel);
// One cause with its process and evidence (with its share after the title).
std::string cause_sentence(const Cause& c, bool with_share = false, TextEscape mode = TextEscape::Kernel);

}  // namespace vmatrace
