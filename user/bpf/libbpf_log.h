// The one place libbpf's output goes: shown with -v, otherwise kept so that a
// failure can say what the kernel said.
#pragma once

#include <string>

namespace vmatrace {

void install_libbpf_logger(bool verbose);
// The last warnings libbpf printed (verifier rejections and the like).
std::string recent_libbpf_warnings();

}  // namespace vmatrace
