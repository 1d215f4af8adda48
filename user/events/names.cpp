#include "events/names.h"

#include <sys/mman.h>

#include <cerrno>
#include <cinttypes>
#include <cstdio>
#include <cstring>

#include "events/abi.h"

namespace vmatrace {
namespace {

struct Flag {
  uint64_t bit;
  const char* name;
};

std::string join_flags(uint64_t v, const std::vector<Flag>& flags, const char* zero) {
  if (v == 0) return zero;
  std::string out;
  for (const auto& f : flags) {
    if (f.bit && (v & f.bit) == f.bit) {
      if (!out.empty()) out += "|";
      out += f.name;
      v &= ~f.bit;
    }
  }
  if (v) {
    if (!out.empty()) out += "|";
    out += hex_addr(v);
  }
  return out;
}

const std::vector<Flag> kProt = {
    {PROT_READ, "PROT_READ"}, {PROT_WRITE, "PROT_WRITE"}, {PROT_EXEC, "PROT_EXEC"},
    {PROT_GROWSDOWN, "PROT_GROWSDOWN"}, {PROT_GROWSUP, "PROT_GROWSUP"}};

const std::vector<Flag> kMap = {
    {MAP_SHARED_VALIDATE, "MAP_SHARED_VALIDATE"}, {MAP_SHARED, "MAP_SHARED"},
    {MAP_PRIVATE, "MAP_PRIVATE"},       {MAP_FIXED, "MAP_FIXED"},
    {MAP_ANONYMOUS, "MAP_ANONYMOUS"},   {MAP_GROWSDOWN, "MAP_GROWSDOWN"},
    {MAP_DENYWRITE, "MAP_DENYWRITE"},   {MAP_EXECUTABLE, "MAP_EXECUTABLE"},
    {MAP_LOCKED, "MAP_LOCKED"},         {MAP_NORESERVE, "MAP_NORESERVE"},
    {MAP_POPULATE, "MAP_POPULATE"},     {MAP_NONBLOCK, "MAP_NONBLOCK"},
    {MAP_STACK, "MAP_STACK"},           {MAP_HUGETLB, "MAP_HUGETLB"},
    {MAP_SYNC, "MAP_SYNC"},             {MAP_FIXED_NOREPLACE, "MAP_FIXED_NOREPLACE"},
    {0x40 /* MAP_32BIT */, "MAP_32BIT"}};

const std::vector<Flag> kMremap = {{1, "MREMAP_MAYMOVE"}, {2, "MREMAP_FIXED"}, {4, "MREMAP_DONTUNMAP"}};
const std::vector<Flag> kMlock = {{1, "MLOCK_ONFAULT"}};

const char* advice_name(uint64_t a) {
  switch (a) {
    case 0: return "MADV_NORMAL";
    case 1: return "MADV_RANDOM";
    case 2: return "MADV_SEQUENTIAL";
    case 3: return "MADV_WILLNEED";
    case 4: return "MADV_DONTNEED";
    case 8: return "MADV_FREE";
    case 9: return "MADV_REMOVE";
    case 10: return "MADV_DONTFORK";
    case 11: return "MADV_DOFORK";
    case 12: return "MADV_MERGEABLE";
    case 13: return "MADV_UNMERGEABLE";
    case 14: return "MADV_HUGEPAGE";
    case 15: return "MADV_NOHUGEPAGE";
    case 16: return "MADV_DONTDUMP";
    case 17: return "MADV_DODUMP";
    case 18: return "MADV_WIPEONFORK";
    case 19: return "MADV_KEEPONFORK";
    case 20: return "MADV_COLD";
    case 21: return "MADV_PAGEOUT";
    case 22: return "MADV_POPULATE_READ";
    case 23: return "MADV_POPULATE_WRITE";
    case 24: return "MADV_DONTNEED_LOCKED";
    case 25: return "MADV_COLLAPSE";
    case 100: return "MADV_HWPOISON";
    case 101: return "MADV_SOFT_OFFLINE";
    case 102: return "MADV_GUARD_INSTALL";
    case 103: return "MADV_GUARD_REMOVE";
    default: return nullptr;
  }
}

using A = ArgType;

}  // namespace

std::string hex_addr(uint64_t v) {
  char buf[24];
  snprintf(buf, sizeof(buf), "0x%" PRIx64, v);
  return buf;
}

const char* syscall_name(uint16_t sc) {
  static const char* const kNames[VT_SC_MAX] = {
      "?",          "mmap",     "munmap",    "brk",       "mprotect", "pkey_mprotect",
      "mremap",     "madvise",  "mlock",     "mlock2",    "munlock",  "mlockall",
      "munlockall", "shmat",    "shmdt",     "prctl",     "mseal"};
  return sc < VT_SC_MAX ? kNames[sc] : "?";
}

const std::vector<ArgSpec>& syscall_args(uint16_t sc) {
  static const std::vector<ArgSpec> kNone;
  static const std::vector<std::vector<ArgSpec>> kArgs = {
      {},
      {{"addr", A::Addr}, {"length", A::Size}, {"prot", A::Prot}, {"flags", A::MapFlags},
       {"fd", A::Int}, {"offset", A::Hex}},
      {{"addr", A::Addr}, {"length", A::Size}},
      {{"addr", A::Addr}},
      {{"addr", A::Addr}, {"len", A::Size}, {"prot", A::Prot}},
      {{"addr", A::Addr}, {"len", A::Size}, {"prot", A::Prot}, {"pkey", A::Int}},
      {{"old_address", A::Addr}, {"old_size", A::Size}, {"new_size", A::Size},
       {"flags", A::MremapFlags}, {"new_address", A::Addr}},
      {{"addr", A::Addr}, {"length", A::Size}, {"advice", A::Advice}},
      {{"addr", A::Addr}, {"len", A::Size}},
      {{"addr", A::Addr}, {"len", A::Size}, {"flags", A::MlockFlags}},
      {{"addr", A::Addr}, {"len", A::Size}},
      {{"flags", A::Hex}},
      {},
      {{"shmid", A::Int}, {"shmaddr", A::Addr}, {"shmflg", A::Hex}},
      {{"shmaddr", A::Addr}},
      {{"option", A::Hex}, {"arg2", A::Hex}, {"arg3", A::Addr}, {"arg4", A::Size}, {"arg5", A::Addr}},
      {{"addr", A::Addr}, {"len", A::Size}, {"flags", A::Hex}},
  };
  return sc < kArgs.size() ? kArgs[sc] : kNone;
}

const char* kind_name(const Event& e) {
  switch (e.kind) {
    case Kind::Syscall: return syscall_name(e.sc);
    case Kind::Fault: return "fault";
    case Kind::Vma: return "vma";
    case Kind::Exec: return "exec";
    case Kind::Fork: return "fork";
    case Kind::Exit: return "exit";
    case Kind::Stats: return "stats";
    case Kind::Snapshot: return "snapshot";
    case Kind::Stack: return "stack";
  }
  return "?";
}

namespace {

// Each reason once: its JSON key and its words for people.
struct LostReason {
  const char* key;
  const char* text;
};
const LostReason kLostReasons[VT_LOST_MAX] = {
    {"syscall", "syscall (ring buffer full)"},
    {"fault", "fault (ring buffer full)"},
    {"vma", "vma (ring buffer full)"},
    {"task", "task (ring buffer full)"},
    {"fault_shed", "fault (shed to keep room for VMA changes)"},
    {"syscall_map_full", "syscall (in-flight map full)"},
    {"fault_map_full", "fault (in-flight map full)"},
    {"vma_busy", "vma (mmap_lock busy)"},
    {"snapshot", "snapshot (ring buffer full)"},
    {"syscall_return", "syscall (return not caught: --mmap-lock-hook)"}};

}  // namespace

const char* lost_reason_name(size_t reason) { return reason < VT_LOST_MAX ? kLostReasons[reason].text : "unknown"; }

const char* lost_reason_key(size_t reason) { return reason < VT_LOST_MAX ? kLostReasons[reason].key : "unknown"; }

std::string format_arg(ArgType type, uint64_t v) {
  switch (type) {
    case A::Addr: return v ? hex_addr(v) : "NULL";
    case A::Size: return std::to_string(v);
    case A::Int: return std::to_string(static_cast<int32_t>(v));
    case A::Hex: return hex_addr(v);
    case A::Prot: return join_flags(v, kProt, "PROT_NONE");
    case A::MapFlags: {
      // The mapping type is a 2-bit field, not independent flags.
      std::string type_name = (v & 3) == 3 ? "MAP_SHARED_VALIDATE" : (v & 1) ? "MAP_SHARED"
                              : (v & 2) ? "MAP_PRIVATE" : "";
      std::vector<Flag> rest(kMap.begin() + 3, kMap.end());
      std::string others = join_flags(v & ~3ULL, rest, "");
      if (type_name.empty()) return others.empty() ? "0" : others;
      return others.empty() ? type_name : type_name + "|" + others;
    }
    case A::Advice: {
      const char* n = advice_name(v);
      return n ? n : std::to_string(v);
    }
    case A::MremapFlags: return join_flags(v, kMremap, "0");
    case A::MlockFlags: return join_flags(v, kMlock, "0");
  }
  return hex_addr(v);
}

int64_t json_arg_value(ArgType type, uint64_t v) {
  return type == A::Int ? static_cast<int32_t>(v) : static_cast<int64_t>(v);
}

Access access_of(const Event& f) {
  if (f.fault_flags & VT_FAULT_NO_ENTRY) return Access::Unknown;
  if (f.error_code & VT_PF_INSTR) return Access::Exec;
  return (f.error_code & VT_PF_WRITE) ? Access::Write : Access::Read;
}

const char* fault_access(uint16_t ec) {
  if (ec & VT_PF_INSTR) return "exec";
  return (ec & VT_PF_WRITE) ? "write" : "read";
}

std::string errno_name(int64_t ret) {
  if (ret >= 0 || ret < -4095) return "";
  const char* n = strerrorname_np(static_cast<int>(-ret));
  return n ? std::string("-") + n : "-" + std::to_string(-ret);
}

}  // namespace vmatrace
