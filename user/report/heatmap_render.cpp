#include "report/heatmap_render.h"

#include <algorithm>
#include <cinttypes>
#include <cmath>
#include <cstdio>

#include "report/storm_text.h"
#include "util/escape.h"

namespace vmatrace {
namespace {

constexpr int kWidth = 1280, kLabelWidth = 400, kRight = 30, kTop = 64, kAxis = 46, kLegend = 50;

// Text that is already escaped for a line (and UTF-8), as XML.
std::string xml(const std::string& text) {
  std::string out;
  for (char c : text) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      default: out += c;
    }
  }
  return out;
}

// A name as SVG text: its bytes escaped as for a text line (and where they
// are not UTF-8, which XML must be), then as XML.
std::string escape(const std::string& s) { return xml(escape_text(s, TextEscape::Utf8)); }

// Viridis, sampled: perceptually even and readable for colour-blind readers.
std::string colour(double v) {
  static const int stops[][3] = {{68, 1, 84}, {59, 82, 139}, {33, 145, 140}, {94, 201, 98}, {253, 231, 37}};
  v = std::clamp(v, 0.0, 1.0) * 4;
  int i = std::min(3, static_cast<int>(v));
  double f = v - i;
  char buf[16];
  snprintf(buf, sizeof(buf), "#%02x%02x%02x", static_cast<int>(stops[i][0] + f * (stops[i + 1][0] - stops[i][0])),
           static_cast<int>(stops[i][1] + f * (stops[i + 1][1] - stops[i][1])),
           static_cast<int>(stops[i][2] + f * (stops[i + 1][2] - stops[i][2])));
  return buf;
}

double log_scale(uint32_t n, uint32_t max) {
  return max <= 1 ? 1.0 : std::log1p(n) / std::log1p(max);
}

// 1, 2 or 5 times a power of ten, giving about 8 ticks.
double tick_step(double span_s) {
  double raw = span_s / 8, p = std::pow(10, std::floor(std::log10(raw)));
  for (double m : {1.0, 2.0, 5.0, 10.0})
    if (raw <= m * p) return m * p;
  return 10 * p;
}

std::string shorten(const std::string& s, size_t max) {
  return s.size() <= max ? s : "…" + s.substr(s.size() - max + 1);
}

}  // namespace

std::string heatmap_svg(const Analysis& a, const TraceMeta& meta) {
  const Heatmap& h = a.heatmap;
  const int rows = static_cast<int>(h.rows.size());
  const int row_h = rows ? std::clamp(640 / rows, 6, 18) : 18;
  const int plot_w = kWidth - kLabelWidth - kRight;
  const int plot_h = std::max(row_h, rows * row_h);
  const int height = kTop + plot_h + kAxis + kLegend;
  const double col_w = static_cast<double>(plot_w) / std::max<uint32_t>(1, h.columns);
  const double span_s = static_cast<double>(h.to_ns - h.from_ns) / 1e9;
  char buf[1024];
  std::string svg;
  snprintf(buf, sizeof(buf),
           "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" viewBox=\"0 0 %d %d\" "
           "font-family=\"DejaVu Sans Mono, monospace\" font-size=\"11\">\n"
           "<rect width=\"100%%\" height=\"100%%\" fill=\"white\"/>\n",
           kWidth, height, kWidth, height);
  svg += buf;
  std::string cmd;
  for (const auto& c : meta.command) cmd += (cmd.empty() ? "" : " ") + c;
  snprintf(buf, sizeof(buf),
           "<text x=\"16\" y=\"24\" font-size=\"16\" font-weight=\"bold\">%s by address and time: pid %u "
           "(%s)</text>\n<text x=\"16\" y=\"44\" fill=\"#444\">%.3f s to %.3f s of %.3f s, %s; %zu storm(s); "
           "rows: VMAs by address, gaps removed</text>\n",
           h.kind == "all" ? "Page faults" : ("Page faults (" + h.kind + " only)").c_str(), meta.target_pid,
           escape(shorten(cmd, 60)).c_str(), h.from_ns / 1e9, h.to_ns / 1e9, a.duration_ns / 1e9,
           escape(meta.hostname).c_str(), a.storms.size());
  svg += buf;
  // Storm windows, shaded behind the cells.
  for (const Storm& s : a.storms) {
    if (s.end_ns <= h.from_ns || s.start_ns >= h.to_ns || span_s <= 0) continue;
    double x0 = kLabelWidth + plot_w * (std::max(s.start_ns, h.from_ns) - h.from_ns) / 1e9 / span_s;
    double x1 = kLabelWidth + plot_w * (std::min(s.end_ns, h.to_ns) - h.from_ns) / 1e9 / span_s;
    snprintf(buf, sizeof(buf),
             "<rect x=\"%.1f\" y=\"%d\" width=\"%.1f\" height=\"%d\" fill=\"#ffdddd\"><title>storm: %" PRIu64
             " faults, peak %.0f/s: ",
             x0, kTop - 6, std::max(1.0, x1 - x0), plot_h + 6, s.faults, s.peak_rate);
    // The diagnosis may be long: appended, never cut by the buffer.
    svg += buf + xml(storm_diagnosis(s, TextEscape::Utf8)) + "</title></rect>\n";
    snprintf(buf, sizeof(buf), "<text x=\"%.1f\" y=\"%d\" font-size=\"10\" fill=\"#a00\">", x0, kTop - 8);
    svg += buf + xml(storm_cause_label(s, TextEscape::Utf8)) + "</text>\n";
  }
  for (int r = 0; r < rows; r++) {
    const HeatRow& row = h.rows[static_cast<size_t>(r)];
    int y = kTop + r * row_h;
    snprintf(buf, sizeof(buf),
             "<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" fill=\"%s\" opacity=\"0.6\"/>\n"
             "<text x=\"%d\" y=\"%d\" text-anchor=\"end\" font-size=\"%d\">%s</text>\n",
             kLabelWidth, y, plot_w, row_h - 1, r % 2 ? "#f4f4f4" : "#eaeaea", kLabelWidth - 6,
             y + row_h - 3, std::min(11, row_h), escape(shorten(row.label, 58)).c_str());
    svg += buf;
    // The whole label, however long: appended, never cut short by buf.
    const std::string label = escape(row.label);
    for (uint32_t c = 0; c < h.columns; c++) {
      uint32_t n = row.cells[c];
      if (!n) continue;
      double t0 = h.from_ns / 1e9 + span_s * c / h.columns;
      snprintf(buf, sizeof(buf),
               "<rect x=\"%.1f\" y=\"%d\" width=\"%.2f\" height=\"%d\" fill=\"%s\" data-n=\"%u\"><title>",
               kLabelWidth + c * col_w, y, col_w + 0.05, row_h - 1, colour(log_scale(n, h.max_cell)).c_str(), n);
      svg += buf;
      svg += label;
      snprintf(buf, sizeof(buf), "&#10;%.3f-%.3f s: %u faults</title></rect>\n", t0, t0 + span_s / h.columns, n);
      svg += buf;
    }
  }
  if (rows == 0) {
    snprintf(buf, sizeof(buf), "<text x=\"%d\" y=\"%d\">no faults in this window</text>\n", kLabelWidth + 10,
             kTop + 14);
    svg += buf;
  }
  // Time axis.
  int axis_y = kTop + plot_h + 4;
  snprintf(buf, sizeof(buf), "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"black\"/>\n", kLabelWidth, axis_y,
           kLabelWidth + plot_w, axis_y);
  svg += buf;
  if (span_s > 0) {
    double step = tick_step(span_s), first = std::ceil(h.from_ns / 1e9 / step) * step;
    // Counted, not accumulated: far from zero, t += step can stop moving.
    for (int i = 0; i <= 20; i++) {
      double t = first + i * step;
      if (t > h.to_ns / 1e9 + 1e-9) break;
      double x = kLabelWidth + plot_w * (t - h.from_ns / 1e9) / span_s;
      snprintf(buf, sizeof(buf),
               "<line x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\" stroke=\"black\"/>"
               "<text x=\"%.1f\" y=\"%d\" text-anchor=\"middle\">%g</text>\n",
               x, axis_y, x, axis_y + 5, x, axis_y + 17, std::round(t / step) * step);
      svg += buf;
    }
  }
  snprintf(buf, sizeof(buf), "<text x=\"%d\" y=\"%d\" text-anchor=\"middle\">time (s since tracing began)</text>\n",
           kLabelWidth + plot_w / 2, axis_y + 34);
  svg += buf;
  // Legend: log colour scale.
  int ly = axis_y + kAxis;
  snprintf(buf, sizeof(buf), "<text x=\"16\" y=\"%d\">faults per cell (log scale):</text>\n", ly + 12);
  svg += buf;
  for (int i = 0; i < 50; i++) {
    snprintf(buf, sizeof(buf), "<rect x=\"%d\" y=\"%d\" width=\"5\" height=\"14\" fill=\"%s\"/>\n", 220 + i * 5, ly,
             colour(i / 49.0).c_str());
    svg += buf;
  }
  snprintf(buf, sizeof(buf),
           "<text x=\"220\" y=\"%d\">1</text><text x=\"470\" y=\"%d\" text-anchor=\"end\">%u</text>"
           "<text x=\"490\" y=\"%d\" fill=\"#444\">%" PRIu64 " faults outside the rows shown</text>\n",
           ly + 26, ly + 26, h.max_cell, ly + 12, h.faults_outside_rows);
  svg += buf;
  svg += "</svg>\n";
  return svg;
}

std::string heatmap_html(const Analysis& a, const TraceMeta& meta) {
  std::string html =
      "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
      "<title>vmatrace heatmap, pid " + std::to_string(meta.target_pid) + "</title>\n"
      "<style>body{font-family:sans-serif;margin:12px}#info{font-family:monospace;white-space:pre;"
      "min-height:3em;padding:6px;background:#f6f6f6;border:1px solid #ccc;margin-bottom:8px}"
      "rect[data-n]:hover{stroke:red;stroke-width:1}</style></head><body>\n"
      "<div id=\"info\">hover over a cell: its VMA, time window and fault count</div>\n";
  html += heatmap_svg(a, meta);
  html +=
      "<script>\nfor (const r of document.querySelectorAll('rect[data-n]')) {\n"
      "  r.addEventListener('mouseover', () => {\n"
      "    document.getElementById('info').textContent = r.querySelector('title').textContent;\n"
      "  });\n}\n</script>\n</body></html>\n";
  return html;
}

}  // namespace vmatrace
