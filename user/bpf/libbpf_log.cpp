#include "bpf/libbpf_log.h"

#include <bpf/libbpf.h>

#include <cstdarg>
#include <cstdio>
#include <deque>

namespace vmatrace {
namespace {

bool g_verbose = false;
std::deque<std::string> g_recent;

int print_fn(enum libbpf_print_level level, const char* fmt, va_list args) {
  if (g_verbose) return vfprintf(stderr, fmt, args);
  if (level == LIBBPF_DEBUG) return 0;
  char buf[512];
  vsnprintf(buf, sizeof(buf), fmt, args);
  g_recent.emplace_back(buf);
  if (g_recent.size() > 8) g_recent.pop_front();
  return 0;
}

}  // namespace

void install_libbpf_logger(bool verbose) {
  g_verbose = verbose;
  libbpf_set_print(print_fn);
}

std::string recent_libbpf_warnings() {
  std::string out;
  for (const auto& l : g_recent) out += "  libbpf: " + l;
  return out;
}

}  // namespace vmatrace
