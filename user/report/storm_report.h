// Storms in the text report (listed first, biggest first, each led by its
// diagnosis) and in JSON; the diagnosis also labels storms in the heatmap,
// in Perfetto and in the live view.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "analysis/analysis.h"

namespace vmatrace {

std::string storms_text(const Analysis& a);
nlohmann::ordered_json storms_json(const Analysis& a);

// One sentence on why: the main cause with its process and evidence, its
// share, and the other causes above 5%. Names in it are bytes, as in a
// Storm: escape the sentence for the output it goes to (util/escape.h).
std::string storm_diagnosis(const Storm& s);
// A few words: "copy-on-write after fork 99% in pid 1235 (cow)".
std::string storm_cause_label(const Storm& s);
// One cause with its process and evidence, for people (with its share after the title).
std::string cause_sentence(const Cause& c);
std::string cause_sentence(const Cause& c, bool with_share);

}  // namespace vmatrace
