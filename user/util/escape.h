// Names — paths, command lines, exec filenames, symbols — are bytes from the
// kernel or from a trace file, not text. These are the only two ways vmatrace
// shows them: escaped for a line of text, and carried losslessly in JSON.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace vmatrace {

enum class TextEscape {
  Kernel,  // bytes >= 0x80 as they are, as /proc/PID/maps prints them
  Utf8,    // also bytes that are not valid UTF-8 (output that must be UTF-8: SVG, HTML)
};

// Every control character (0x00-0x1f, 0x7f) and the backslash as a
// backslash and three octal digits: what fs/proc/task_mmu.c (mangle_path)
// does to a newline ("\012"), so that a name can neither end a line nor pass
// for an escape.
std::string escape_text(std::string_view bytes, TextEscape mode = TextEscape::Kernel);

// The name /proc/PID/maps printed, back to its bytes: the kernel escapes only
// the newline, as "\012" (a name that really holds "\012" cannot be told apart).
std::string unescape_maps_name(std::string_view printed);

// Strict UTF-8 (RFC 3629: no overlong forms, surrogates or code points past
// U+10FFFF), the same rule nlohmann::json enforces when it writes a string.
bool is_valid_utf8(std::string_view s);

std::string to_hex(std::string_view bytes);
std::optional<std::string> from_hex(std::string_view hex);

// JSON text of j that never fails on a name: a string member KEY that is not
// valid UTF-8 keeps KEY (each invalid byte replaced by U+FFFD, for people)
// and gains KEY_hex, its exact bytes in hex; an array member KEY holding such
// a string gains KEY_hex, an array of every element's bytes in hex (null for
// elements that are not strings). Valid UTF-8 is written as it is.
template <class Json>
std::string dump_json(const Json& j, int indent = -1);

// The bytes of object[key] as dump_json wrote them ("" if absent); nullopt
// if the member or its _hex twin has the wrong type or bad hex.
template <class Json>
std::optional<std::string> json_bytes(const Json& object, const std::string& key);
template <class Json>
std::optional<std::vector<std::string>> json_bytes_list(const Json& object, const std::string& key);

}  // namespace vmatrace
