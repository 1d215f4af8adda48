// Names and strace-like formatting of syscalls, their arguments and flags.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "events/event.h"

namespace vmatrace {

enum class ArgType : uint8_t { Addr, Size, Int, Prot, MapFlags, Advice, MremapFlags, MlockFlags, Hex };

struct ArgSpec {
  const char* name;  // the man page's name
  ArgType type;
};

const char* syscall_name(uint16_t sc);
const std::vector<ArgSpec>& syscall_args(uint16_t sc);
const char* kind_name(const Event& e);  // "mmap", "fault", "exec", ...
const char* lost_reason_name(size_t reason);  // for people
const char* lost_reason_key(size_t reason);   // for JSON

std::string format_arg(ArgType type, uint64_t value);
std::string hex_addr(uint64_t v);  // "0x7f83de189000"
// JSON wants numbers, except that an fd or an int is signed.
int64_t json_arg_value(ArgType type, uint64_t value);

// What a fault did, from its error code; Unknown when no entry event was seen.
enum class Access : uint8_t { Read, Write, Exec, Unknown };
Access access_of(const Event& fault);
const char* fault_access(uint16_t error_code);  // "read", "write", "exec"
std::string errno_name(int64_t ret);            // "-ENOMEM" style, or ""

}  // namespace vmatrace
