#include "cli/numbers.h"

#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>

namespace vmatrace {
namespace {

std::string shortest(double v) {
  char buf[32];
  snprintf(buf, sizeof(buf), "%.15g", v);
  return buf;
}

}  // namespace

CLI::Validator number_in(double lo, double hi, Low low, const std::string& what) {
  std::string range = (low == Low::Open ? "(" : "[") + shortest(lo) + ", " + shortest(hi) + "]";
  std::string desc = what + " in " + range;
  return CLI::Validator(
      [=](std::string& text) -> std::string {
        errno = 0;
        char* end = nullptr;
        double v = std::strtod(text.c_str(), &end);
        bool parsed = !text.empty() && end == text.c_str() + text.size() && errno == 0 && std::isfinite(v);
        bool inside = parsed && (low == Low::Open ? v > lo : v >= lo) && v <= hi;
        if (inside) return "";
        std::string shown = text.size() > 24 ? text.substr(0, 24) + "..." : text;
        return shown + " is not " + desc;
      },
      desc);
}

}  // namespace vmatrace
