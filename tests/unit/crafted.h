// Crafted trace files: valid checksums around contents the writer would never
// produce, as a buggy recorder or an attacker could hand them to a report.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <string>

namespace vmatrace {

// LEB128 varints, as the codec and the chunk index store numbers.
inline std::string varints(std::initializer_list<uint64_t> values) {
  std::string out;
  for (uint64_t v : values) {
    while (v >= 0x80) {
      out.push_back(static_cast<char>(v | 0x80));
      v >>= 7;
    }
    out.push_back(static_cast<char>(v));
  }
  return out;
}

}  // namespace vmatrace
