// The subcommands behind the CLI; each returns the process exit code.
#pragma once

#include <string>

namespace vmatrace {

struct ReportOptions {
  std::string file;
  bool json = false;
  bool events = false;
};

int run_report(const ReportOptions& opts);
int run_check();

}  // namespace vmatrace
