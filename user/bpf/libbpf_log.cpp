#include "bpf/libbpf_log.h"

#include <bpf/libbpf.h>

#include <cstdarg>
#include <cstdio>
#include <deque>
#include <sstream>
#include <vector>

namespace vmatrace {
namespace {

bool g_verbose = false;
std::deque<std::string> g_recent;  // the last warnings, for error messages
std::string g_since_clear;         // everything since the last load attempt
constexpr size_t kMaxKept = 1 << 20;  // a verifier log can be large: keep its tail

std::string format(const char* fmt, va_list args) {
  va_list copy;
  va_copy(copy, args);
  int n = vsnprintf(nullptr, 0, fmt, copy);
  va_end(copy);
  if (n <= 0) return "";
  std::vector<char> buf(static_cast<size_t>(n) + 1);
  vsnprintf(buf.data(), buf.size(), fmt, args);
  return std::string(buf.data(), static_cast<size_t>(n));
}

int print_fn(enum libbpf_print_level level, const char* fmt, va_list args) {
  std::string msg = format(fmt, args);
  if (g_verbose) fputs(msg.c_str(), stderr);
  if (level == LIBBPF_DEBUG) return 0;
  g_since_clear += msg;
  if (g_since_clear.size() > kMaxKept) g_since_clear.erase(0, g_since_clear.size() - kMaxKept);
  g_recent.emplace_back(msg.substr(0, 512));
  if (g_recent.size() > 8) g_recent.pop_front();
  return 0;
}

bool starts_with(const std::string& s, const std::string& p) { return s.compare(0, p.size(), p) == 0; }

}  // namespace

void install_libbpf_logger(bool verbose) {
  g_verbose = verbose;
  libbpf_set_print(print_fn);
}

bool libbpf_verbose() { return g_verbose; }

std::string recent_libbpf_warnings() {
  std::string out;
  for (const auto& l : g_recent) out += "  libbpf: " + l;
  return out;
}

void clear_libbpf_messages() { g_since_clear.clear(); }

std::optional<ProgramRefusal> last_program_refusal() { return parse_program_refusal(g_since_clear); }

// libbpf says "prog 'NAME': BPF program load failed: ...", then the verifier
// log between BEGIN/END PROG LOAD LOG, whose error is the last line before
// "processed N insns" (or before END when the log was cut).
std::optional<ProgramRefusal> parse_program_refusal(const std::string& text) {
  std::istringstream in(text);
  std::string line;
  std::optional<ProgramRefusal> found;
  std::string last_log_line;
  bool in_log = false, have_error = false;
  const std::string prog_prefix = "prog '";
  while (std::getline(in, line)) {
    if (starts_with(line, prog_prefix) && line.find("load failed") != std::string::npos) {
      size_t end = line.find('\'', prog_prefix.size());
      if (end == std::string::npos) continue;
      found = ProgramRefusal{line.substr(prog_prefix.size(), end - prog_prefix.size()), ""};
      size_t colon = line.find("load failed: ");
      if (colon != std::string::npos) found->verifier_error = line.substr(colon + 13);
      have_error = false;
    } else if (line.find("-- BEGIN PROG LOAD LOG --") != std::string::npos) {
      in_log = true;
      last_log_line.clear();
    } else if (in_log && (starts_with(line, "processed ") || line.find("-- END PROG LOAD LOG --") != std::string::npos)) {
      if (found && !have_error && !last_log_line.empty()) {
        found->verifier_error = last_log_line;
        have_error = true;
      }
      if (line.find("-- END PROG LOAD LOG --") != std::string::npos) in_log = false;
    } else if (in_log && !line.empty()) {
      last_log_line = line;
    }
  }
  return found;
}

}  // namespace vmatrace
