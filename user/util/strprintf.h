// printf into a std::string (at most 1 KiB: for short report phrases and cells).
#pragma once

#include <string>

namespace vmatrace {

std::string strprintf(const char* format, ...) __attribute__((format(printf, 1, 2)));

}  // namespace vmatrace
