#include <cstdio>

#include "bpf/features.h"
#include "cli/commands.h"

namespace vmatrace {

int run_check() {
  Features f = probe_features();
  printf("kernel %s, lockdown: %s\n\n", f.kernel_release.c_str(), f.lockdown.c_str());
  for (const auto& line : describe(f))
    printf("  %-38s %-4s %s\n", line.name.c_str(), line.present ? "yes" : "no", line.use.c_str());
  std::string why = missing_requirement(f);
  if (!why.empty()) {
    printf("\nvmatrace cannot trace here: %s\n", why.c_str());
    return 1;
  }
  printf("\nvmatrace can trace here%s.\n",
         f.find_vma && f.probe_read && f.fault_tracepoints ? " with every feature"
                                                           : ", with the losses listed above");
  return 0;
}

}  // namespace vmatrace
