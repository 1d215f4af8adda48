#include "util/escape.h"

#include <algorithm>
#include <nlohmann/json.hpp>

namespace vmatrace {
namespace {

// The length of the valid UTF-8 sequence starting at s[i], 0 if there is none
// (Unicode 15, table 3-7: the second byte's range depends on the first).
size_t utf8_sequence_at(std::string_view s, size_t i) {
  const auto c = static_cast<unsigned char>(s[i]);
  if (c < 0x80) return 1;
  size_t len = 0;
  unsigned char lo = 0x80, hi = 0xbf;
  if (c >= 0xc2 && c <= 0xdf) {
    len = 2;
  } else if (c == 0xe0) {
    len = 3, lo = 0xa0;
  } else if ((c >= 0xe1 && c <= 0xec) || c == 0xee || c == 0xef) {
    len = 3;
  } else if (c == 0xed) {
    len = 3, hi = 0x9f;  // no surrogates
  } else if (c == 0xf0) {
    len = 4, lo = 0x90;
  } else if (c >= 0xf1 && c <= 0xf3) {
    len = 4;
  } else if (c == 0xf4) {
    len = 4, hi = 0x8f;  // nothing past U+10FFFF
  } else {
    return 0;
  }
  if (s.size() - i < len) return 0;
  const auto second = static_cast<unsigned char>(s[i + 1]);
  if (second < lo || second > hi) return 0;
  for (size_t k = 2; k < len; k++)
    if ((static_cast<unsigned char>(s[i + k]) & 0xc0) != 0x80) return 0;
  return len;
}

void append_octal(std::string* out, unsigned char c) {
  out->push_back('\\');
  out->push_back(static_cast<char>('0' + ((c >> 6) & 7)));
  out->push_back(static_cast<char>('0' + ((c >> 3) & 7)));
  out->push_back(static_cast<char>('0' + (c & 7)));
}

template <class Json>
bool has_invalid_string(const Json& j) {
  if (j.is_string()) return !is_valid_utf8(j.template get_ref<const std::string&>());
  if (j.is_object() || j.is_array())
    for (const auto& child : j)
      if (has_invalid_string(child)) return true;
  return false;
}

template <class Json>
Json hex_twin(const Json& value) {
  if (value.is_string()) return to_hex(value.template get_ref<const std::string&>());
  Json out = Json::array();
  for (const auto& e : value) out.push_back(e.is_string() ? Json(to_hex(e.template get_ref<const std::string&>())) : Json());
  return out;
}

template <class Json>
void add_hex_twins(Json& j) {
  if (j.is_array()) {
    for (auto& child : j) add_hex_twins(child);
    return;
  }
  if (!j.is_object()) return;
  std::vector<std::pair<std::string, Json>> twins;
  for (auto it = j.begin(); it != j.end(); ++it) {
    const Json& v = it.value();
    bool names = v.is_string() || (v.is_array() && std::any_of(v.begin(), v.end(), [](const Json& e) {
                                     return e.is_string();
                                   }));
    if (names && has_invalid_string(v)) twins.emplace_back(it.key() + "_hex", hex_twin(v));
    if (v.is_object() || v.is_array()) add_hex_twins(it.value());
  }
  for (auto& [key, twin] : twins) j[key] = std::move(twin);
}

template <class Json>
std::optional<std::string> string_or_hex(const Json& value, const Json* hex) {
  if (hex) {
    if (!hex->is_string()) return std::nullopt;
    return from_hex(hex->template get_ref<const std::string&>());
  }
  if (!value.is_string()) return std::nullopt;
  return value.template get<std::string>();
}

}  // namespace

std::string escape_text(std::string_view bytes, TextEscape mode) {
  std::string out;
  out.reserve(bytes.size());
  for (size_t i = 0; i < bytes.size();) {
    const auto c = static_cast<unsigned char>(bytes[i]);
    if (c < 0x20 || c == 0x7f || c == '\\') {
      append_octal(&out, c);
      i++;
    } else if (c < 0x80 || mode == TextEscape::Kernel) {
      out.push_back(static_cast<char>(c));
      i++;
    } else if (size_t len = utf8_sequence_at(bytes, i)) {
      out.append(bytes.substr(i, len));
      i += len;
    } else {
      append_octal(&out, c);
      i++;
    }
  }
  return out;
}

std::string unescape_maps_name(std::string_view printed) {
  std::string out;
  out.reserve(printed.size());
  for (size_t i = 0; i < printed.size(); i++) {
    if (printed.compare(i, 4, "\\012") == 0) {
      out.push_back('\n');
      i += 3;
    } else {
      out.push_back(printed[i]);
    }
  }
  return out;
}

bool is_valid_utf8(std::string_view s) {
  for (size_t i = 0; i < s.size();) {
    size_t len = utf8_sequence_at(s, i);
    if (!len) return false;
    i += len;
  }
  return true;
}

std::string to_hex(std::string_view bytes) {
  static const char digits[] = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() * 2);
  for (char b : bytes) {
    const auto c = static_cast<unsigned char>(b);
    out.push_back(digits[c >> 4]);
    out.push_back(digits[c & 15]);
  }
  return out;
}

std::optional<std::string> from_hex(std::string_view hex) {
  auto nibble = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  if (hex.size() % 2) return std::nullopt;
  std::string out;
  out.reserve(hex.size() / 2);
  for (size_t i = 0; i < hex.size(); i += 2) {
    int hi = nibble(hex[i]), lo = nibble(hex[i + 1]);
    if (hi < 0 || lo < 0) return std::nullopt;
    out.push_back(static_cast<char>(hi << 4 | lo));
  }
  return out;
}

template <class Json>
std::string dump_json(const Json& j, int indent) {
  if (!has_invalid_string(j)) return j.dump(indent);
  Json copy = j;
  add_hex_twins(copy);
  // Replace, never throw: the _hex twins carry the exact bytes.
  return copy.dump(indent, ' ', false, Json::error_handler_t::replace);
}

template <class Json>
std::optional<std::string> json_bytes(const Json& object, const std::string& key) {
  if (!object.is_object()) return std::nullopt;
  auto it = object.find(key);
  if (it == object.end()) return std::string();
  auto hex = object.find(key + "_hex");
  return string_or_hex(*it, hex == object.end() ? nullptr : &*hex);
}

template <class Json>
std::optional<std::vector<std::string>> json_bytes_list(const Json& object, const std::string& key) {
  if (!object.is_object()) return std::nullopt;
  auto it = object.find(key);
  if (it == object.end()) return std::vector<std::string>();
  if (!it->is_array()) return std::nullopt;
  auto hex = object.find(key + "_hex");
  if (hex != object.end() && (!hex->is_array() || hex->size() != it->size())) return std::nullopt;
  std::vector<std::string> out;
  for (size_t i = 0; i < it->size(); i++) {
    auto bytes = string_or_hex((*it)[i], hex == object.end() ? nullptr : &(*hex)[i]);
    if (!bytes) return std::nullopt;
    out.push_back(std::move(*bytes));
  }
  return out;
}

template std::string dump_json(const nlohmann::json&, int);
template std::string dump_json(const nlohmann::ordered_json&, int);
template std::optional<std::string> json_bytes(const nlohmann::json&, const std::string&);
template std::optional<std::string> json_bytes(const nlohmann::ordered_json&, const std::string&);
template std::optional<std::vector<std::string>> json_bytes_list(const nlohmann::json&, const std::string&);
template std::optional<std::vector<std::string>> json_bytes_list(const nlohmann::ordered_json&, const std::string&);

}  // namespace vmatrace
