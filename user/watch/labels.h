// Names from the kernel (comm, cgroup paths) made safe to print: they are
// bytes, not text, and must not forge a line, a label or a path.
#pragma once

#include <string>
#include <string_view>

namespace vmatrace {

// Printable ASCII as is; every other byte, and '\', as \xNN.
std::string printable(std::string_view bytes);
// For a file name: letters, digits, '.', '-', '_' as is, every other byte '_'; never empty.
std::string file_name_part(std::string_view bytes);

}  // namespace vmatrace
