#include "analysis/symbolizer.h"

#include <elfutils/libdwfl.h>
#include <fcntl.h>
#include <gelf.h>
#include <unistd.h>

#include <cinttypes>
#include <cstdio>
#include <unordered_map>

#include "events/abi.h"

namespace vmatrace {

struct Symbolizer::Module {
  Dwfl* dwfl = nullptr;
  Dwfl_Module* mod = nullptr;
  bool exec_type = false;  // ET_EXEC: addresses are absolute, no load bias
  // Answers by file address: each storm asks again for the same instructions,
  // and libdwfl searches the symbol table every time.
  std::unordered_map<uint64_t, std::string> names;
  ~Module() {
    if (dwfl) dwfl_end(dwfl);
  }
};

namespace {

const Dwfl_Callbacks kOffline = {
    dwfl_build_id_find_elf,
    dwfl_standard_find_debuginfo,
    dwfl_offline_section_address,
    nullptr,
};

std::string basename_of(const std::string& path) {
  auto slash = path.rfind('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

}  // namespace

Symbolizer::Symbolizer() = default;
Symbolizer::~Symbolizer() = default;

Symbolizer::Module* Symbolizer::module_for(const std::string& path) {
  auto it = modules_.find(path);
  if (it != modules_.end()) return it->second.get();
  auto m = std::make_unique<Module>();
  m->dwfl = dwfl_begin(&kOffline);
  if (m->dwfl) {
    // Reported at 0: we look up file virtual addresses.
    m->mod = dwfl_report_elf(m->dwfl, basename_of(path).c_str(), path.c_str(), -1, 0, false);
    dwfl_report_end(m->dwfl, nullptr, nullptr);
    GElf_Addr bias = 0;
    Elf* elf = m->mod ? dwfl_module_getelf(m->mod, &bias) : nullptr;
    GElf_Ehdr ehdr;
    if (elf && gelf_getehdr(elf, &ehdr)) m->exec_type = ehdr.e_type == ET_EXEC;
  }
  return modules_.emplace(path, std::move(m)).first->second.get();
}

std::string Symbolizer::symbolize(uint64_t ip, const VmaInfo& v, const std::string& vma_name) {
  if (!(v.path_flags & VT_PATH_FILE) || v.path.empty()) return vma_name.empty() ? "[anon]" : vma_name;
  Module* m = module_for(v.path);
  // A shared object or PIE is loaded at (start - file offset of the mapping).
  uint64_t vaddr = ip;
  if (!m->exec_type) vaddr = ip - v.start + (v.pgoff << 12);
  auto known = m->names.find(vaddr);
  if (known != m->names.end()) return known->second;
  char fallback[64];
  snprintf(fallback, sizeof(fallback), "+0x%" PRIx64, vaddr);
  std::string module = basename_of(v.path);
  const char* name = m->mod ? dwfl_module_addrname(m->mod, vaddr) : nullptr;
  std::string out = name ? std::string(name) + " (" + module + ")" : module + fallback;
  return m->names[vaddr] = std::move(out);
}

}  // namespace vmatrace
