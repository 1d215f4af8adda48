#include "cli/numbers.h"

#include <cctype>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>

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

std::optional<uint64_t> parse_size(const std::string& text) {
  // Decimal digits and a point only: strtod alone would take hex, exponents, "inf".
  const size_t digits = text.find_first_not_of("0123456789.");
  const std::string number = text.substr(0, digits);
  if (number.empty() || !isdigit(static_cast<unsigned char>(number[0]))) return std::nullopt;
  errno = 0;
  char* end = nullptr;
  double v = std::strtod(number.c_str(), &end);
  if (errno != 0 || !std::isfinite(v) || *end != '\0') return std::nullopt;
  std::string unit = digits == std::string::npos ? "" : text.substr(digits);
  for (auto& c : unit) c = static_cast<char>(toupper(static_cast<unsigned char>(c)));
  if (unit.size() > 1 && (unit.substr(1) == "B" || unit.substr(1) == "IB")) unit.resize(1);
  double scale = 1;
  if (unit == "K")
    scale = 0x1p10;
  else if (unit == "M")
    scale = 0x1p20;
  else if (unit == "G")
    scale = 0x1p30;
  else if (unit == "T")
    scale = 0x1p40;
  else if (!unit.empty() && unit != "B")
    return std::nullopt;
  double bytes = v * scale;
  if (bytes >= 0x1p64) return std::nullopt;
  return static_cast<uint64_t>(bytes);
}

CLI::Validator size_in(uint64_t lo, uint64_t hi, const std::string& what) {
  std::string desc = what + " from " + std::to_string(lo) + " to " + std::to_string(hi) + " bytes (K, M, G suffixes)";
  return CLI::Validator(
      [=](std::string& text) -> std::string {
        auto v = parse_size(text);
        if (v && *v >= lo && *v <= hi) {
          text = std::to_string(*v);
          return "";
        }
        std::string shown = text.size() > 24 ? text.substr(0, 24) + "..." : text;
        return shown + " is not " + desc;
      },
      desc);
}

}  // namespace vmatrace
