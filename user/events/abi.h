// The BPF <-> user ABI header, included the way user space must include it.
#pragma once

#include <linux/types.h>

extern "C" {
#include "vmatrace/events.h"
}
