// Range checks for numeric options: finite, bounded, with a short message
// (CLI11's own ranges accept nan and print DBL_MAX in full).
#pragma once

#include <CLI/CLI.hpp>

namespace vmatrace {

// The longest span any time option may name: a year, far below where
// seconds * 1e9 stops fitting the nanosecond clock.
constexpr double kMaxSeconds = 365 * 24 * 3600.0;
// Linux's PID_MAX_LIMIT: no pid or tid is larger.
constexpr int kMaxPid = 4 * 1024 * 1024;

enum class Low { Open, Closed };  // whether lo itself is allowed

// A finite number in [lo, hi] (or (lo, hi]); what says what it is ("a number of seconds").
CLI::Validator number_in(double lo, double hi, Low low, const std::string& what);

}  // namespace vmatrace
