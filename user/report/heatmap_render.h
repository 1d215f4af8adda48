// The fault heatmap as a picture: SVG, or a self-contained HTML page around
// the same SVG with hover details.
#pragma once

#include <string>

#include "analysis/analysis.h"
#include "record/trace_file.h"

namespace vmatrace {

std::string heatmap_svg(const Analysis& a, const TraceMeta& meta);
std::string heatmap_html(const Analysis& a, const TraceMeta& meta);

}  // namespace vmatrace
