// Range checks for numeric options: finite, bounded, with a short message
// (CLI11's own ranges accept nan and print DBL_MAX in full).
#pragma once

#include <CLI/CLI.hpp>

#include <cstdint>
#include <optional>
#include <string>

namespace vmatrace {

// The longest span any time option may name: a year, far below where
// seconds * 1e9 stops fitting the nanosecond clock.
constexpr double kMaxSeconds = 365 * 24 * 3600.0;
// Linux's PID_MAX_LIMIT: no pid or tid is larger.
constexpr int kMaxPid = 4 * 1024 * 1024;

enum class Low { Open, Closed };  // whether lo itself is allowed

// A finite number in [lo, hi] (or (lo, hi]); what says what it is ("a number of seconds").
CLI::Validator number_in(double lo, double hi, Low low, const std::string& what);

// A byte count: digits, optionally with a fraction, then an optional K, M, G
// or T (powers of 1024, either case, an optional trailing B/iB). nullopt if
// text is not one, or does not fit 64 bits.
std::optional<uint64_t> parse_size(const std::string& text);
// A byte count (as parse_size reads it) in [lo, hi]; rewrites the text to the
// plain number of bytes: for an integer option, as its transform().
CLI::Validator size_in(uint64_t lo, uint64_t hi, const std::string& what);

}  // namespace vmatrace
