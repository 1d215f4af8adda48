#include "analysis/analysis.h"

#include "events/abi.h"
#include "events/names.h"

namespace vmatrace {

HeatKind heat_kind_of(const std::string& k) {
  if (k == "minor") return HeatKind::Minor;
  if (k == "major") return HeatKind::Major;
  if (k == "exec") return HeatKind::Exec;
  if (k == "write") return HeatKind::Write;
  if (k == "read") return HeatKind::Read;
  return HeatKind::All;
}

bool heat_counts(HeatKind k, const Event& e) {
  switch (k) {
    case HeatKind::All: return true;
    case HeatKind::Minor: return !(e.fault_flags & VT_FAULT_MAJOR);
    case HeatKind::Major: return e.fault_flags & VT_FAULT_MAJOR;
    case HeatKind::Exec: return access_of(e) == Access::Exec;
    case HeatKind::Write: return access_of(e) == Access::Write;
    case HeatKind::Read: return access_of(e) == Access::Read;
  }
  return true;
}

}  // namespace vmatrace
