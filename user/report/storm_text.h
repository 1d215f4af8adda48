// The sentences that say why a storm happened: its diagnosis leads each
// storm in the text report and is a member of its JSON; it also labels
// storms in the heatmap, in Perfetto and in the live view.
#pragma once

#include <string>

#include "analysis/analysis.h"
#include "util/escape.h"

namespace vmatrace {

// One sentence on why: the main cause with its process and evidence, its
// share, and the other causes above 5%. Names in it are escaped (mode: as
// for a text line, or also where they are not UTF-8), so it can be printed
// as it is.
std::string storm_diagnosis(const Storm& s, TextEscape mode = TextEscape::Kernel);
// A few words: "copy-on-write after fork 99% in pid 1235 (cow)".
std::string storm_cause_label(const Storm& s, TextEscape mode = TextEscape::Kernel);
// One cause with its process and evidence (with its share after the title).
std::string cause_sentence(const Cause& c, bool with_share = false, TextEscape mode = TextEscape::Kernel);
// What made a VMA's memory: "mmap", "exec", "before tracing", ...
std::string origin_name(const VmaOrigin& o);

}  // namespace vmatrace
