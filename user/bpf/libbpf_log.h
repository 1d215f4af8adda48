// The one place libbpf's output goes: shown with -v, otherwise kept so that a
// failure can say what the kernel said.
#pragma once

#include <optional>
#include <string>

namespace vmatrace {

void install_libbpf_logger(bool verbose);
bool libbpf_verbose();
// The last warnings libbpf printed (verifier rejections and the like).
std::string recent_libbpf_warnings();

// A program the kernel refused at the last load: its name and the
// verifier's error line ("R1 invalid mem access 'scalar'").
struct ProgramRefusal {
  std::string program;
  std::string verifier_error;
};
// From libbpf's messages since the last clear_libbpf_messages().
std::optional<ProgramRefusal> last_program_refusal();
void clear_libbpf_messages();

// The pure parsing behind last_program_refusal(), for tests.
std::optional<ProgramRefusal> parse_program_refusal(const std::string& libbpf_messages);

}  // namespace vmatrace
