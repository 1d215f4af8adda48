#include "analysis/symbolizer.h"

#include <elfutils/libdwfl.h>
#include <fcntl.h>
#include <gelf.h>
#include <sys/stat.h>
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

// The ELF file a trace names, opened only if it is a regular file: opening
// a FIFO would hang report, and opening some devices (as root) has effects.
int open_regular(const std::string& path) {
  struct stat st;
  if (stat(path.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) return -1;
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
  if (fd >= 0 && (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode))) {  // replaced in between
    close(fd);
    return -1;
  }
  return fd;
}

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
  int fd = m->dwfl ? open_regular(path) : -1;
  if (fd >= 0) {
    // Reported at 0: we look up file virtual addresses. The module owns fd once reported.
    m->mod = dwfl_report_elf(m->dwfl, basename_of(path).c_str(), path.c_str(), fd, 0, false);
    if (!m->mod) close(fd);
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
