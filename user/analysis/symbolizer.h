// Instruction pointers to "function (module)", from the ELF symbol tables of
// the mapped files, through elfutils' libdwfl. Files are opened once.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "events/event.h"

struct Dwfl;

namespace vmatrace {

// Frame i of a sampled user stack (innermost first) as the address to look up:
// return addresses point after the call, so their call is the byte before.
inline uint64_t frame_pc(const std::vector<uint64_t>& ips, size_t i) { return i == 0 ? ips[0] : ips[i] - 1; }

class Symbolizer {
 public:
  Symbolizer();
  ~Symbolizer();
  Symbolizer(const Symbolizer&) = delete;
  Symbolizer& operator=(const Symbolizer&) = delete;

  // ip lies in the VMA v (as mapped when it ran): "main (storm)",
  // "libc.so.6+0x1234" without a symbol, "[vdso]" / "[anon]" without a file.
  std::string symbolize(uint64_t ip, const VmaInfo& v, const std::string& vma_name);

 private:
  struct Module;
  Module* module_for(const std::string& path);
  std::map<std::string, std::unique_ptr<Module>> modules_;
};

}  // namespace vmatrace
