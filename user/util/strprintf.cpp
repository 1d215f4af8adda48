#include "util/strprintf.h"

#include <cstdarg>
#include <cstdio>

namespace vmatrace {

std::string strprintf(const char* format, ...) {
  char buf[1024];
  va_list ap;
  va_start(ap, format);
  vsnprintf(buf, sizeof(buf), format, ap);
  va_end(ap);
  return buf;
}

}  // namespace vmatrace
