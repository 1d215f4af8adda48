#include "events/trace_meta.h"

#include <limits>
#include <nlohmann/json.hpp>

#include "util/escape.h"

namespace vmatrace {

// Names are bytes (a command line, a hostname, maps text naming files): the
// header carries them as dump_json does, and reads them back exactly.
std::string TraceMeta::to_json() const {
  nlohmann::json j = {
      {"format_version", format_version},   {"vmatrace_version", vmatrace_version},
      {"kernel_release", kernel_release},   {"hostname", hostname},
      {"clock", "CLOCK_MONOTONIC"},          {"clock_monotonic_ns", clock_monotonic_ns},
      {"clock_realtime_ns", clock_realtime_ns}, {"target_pid", target_pid},
      {"command", command},                  {"follow_children", follow_children},
      {"page_size", page_size},              {"maps_at_attach", maps_at_attach},
      {"vsyscall_line", vsyscall_line},     {"kernel_snapshots", kernel_snapshots},
      {"syscall_hook", syscall_hook}};
  if (!flight_trigger.empty()) j["flight"] = {{"trigger", flight_trigger}, {"window_ms", flight_window_ms}};
  for (const auto& u : uncertain_at_start) j["uncertain_at_start"].push_back({{"pid", u.pid}, {"reason", u.reason}});
  return dump_json(j);
}

namespace {

// A whole number that fits T, or false. (get<T>() would convert a float or a
// negative number without a check: 1e300 as a pid is undefined behaviour.)
template <class T>
bool get_whole(const nlohmann::json& j, const char* key, T* out) {
  auto it = j.find(key);
  if (it == j.end()) return true;  // absent: the default stands
  if (!it->is_number_unsigned() || it->get<uint64_t>() > std::numeric_limits<T>::max()) return false;
  *out = static_cast<T>(it->get<uint64_t>());
  return true;
}

}  // namespace

Result<TraceMeta> TraceMeta::from_json(const std::string& text) {
  auto j = nlohmann::json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return make_error("header is not valid JSON");
  TraceMeta m;
  if (!j.contains("format_version")) return make_error("header has no format_version");
  for (auto [key, ok] : {std::pair{"format_version", get_whole(j, "format_version", &m.format_version)},
                         {"clock_monotonic_ns", get_whole(j, "clock_monotonic_ns", &m.clock_monotonic_ns)},
                         {"clock_realtime_ns", get_whole(j, "clock_realtime_ns", &m.clock_realtime_ns)},
                         {"target_pid", get_whole(j, "target_pid", &m.target_pid)},
                         {"page_size", get_whole(j, "page_size", &m.page_size)}})
    if (!ok) return make_error(std::string("header field ") + key + " is not a whole number in range");
  try {
    m.follow_children = j.value("follow_children", false);
    m.kernel_snapshots = j.value("kernel_snapshots", true);
  } catch (const nlohmann::json::exception& e) {
    return make_error(std::string("header field has the wrong type: ") + e.what());
  }
  for (auto [key, field] : {std::pair{"vmatrace_version", &m.vmatrace_version},
                            {"kernel_release", &m.kernel_release},
                            {"hostname", &m.hostname},
                            {"maps_at_attach", &m.maps_at_attach},
                            {"vsyscall_line", &m.vsyscall_line},
                            {"syscall_hook", &m.syscall_hook}}) {
    auto bytes = json_bytes(j, key);
    if (!bytes) return make_error(std::string("header field ") + key + " has the wrong type");
    *field = std::move(*bytes);
  }
  if (auto f = j.find("flight"); f != j.end()) {
    if (!f->is_object() || !get_whole(*f, "window_ms", &m.flight_window_ms))
      return make_error("header field flight is malformed");
    auto trigger = json_bytes(*f, "trigger");
    if (!trigger || trigger->empty()) return make_error("header field flight has no trigger");
    m.flight_trigger = std::move(*trigger);
  }
  if (auto list = j.find("uncertain_at_start"); list != j.end()) {
    if (!list->is_array()) return make_error("header field uncertain_at_start is malformed");
    for (const auto& item : *list) {
      UncertainAtStart u;
      auto reason = json_bytes(item, "reason");  // nullopt for anything but an object
      if (!reason || !item.contains("pid") || !get_whole(item, "pid", &u.pid))
        return make_error("header field uncertain_at_start is malformed");
      // Bytes from a file that a warning line prints: escaped here, once, so
      // that they can neither end that line nor be invalid UTF-8 in JSON.
      u.reason = escape_text(*reason, TextEscape::Utf8);
      m.uncertain_at_start.push_back(std::move(u));
    }
  }
  auto command = json_bytes_list(j, "command");
  if (!command) return make_error("header field command has the wrong type");
  m.command = std::move(*command);
  return m;
}

}  // namespace vmatrace
