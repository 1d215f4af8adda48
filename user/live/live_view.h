// What vmatrace shows while it traces: a full-screen view on a terminal
// (like top), or a plain-text summary every interval when piped or --plain.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "events/event.h"
#include "live/live_stats.h"
#include "model/model.h"

namespace vmatrace {

struct LiveFrame {
  uint64_t elapsed_ns = 0;
  uint32_t pid = 0;
  std::string command;
  const LiveStats* stats = nullptr;
  Model* model = nullptr;
  uint64_t lost = 0;
};

class Display {
 public:
  virtual ~Display() = default;
  // Called every loop turn; draws when its interval has passed.
  virtual void update(const LiveFrame& f) = 0;
  virtual bool quit_requested() const { return false; }
};

// The terminal view takes over the screen until destroyed (then restores it).
std::unique_ptr<Display> make_terminal_view();
std::unique_ptr<Display> make_plain_view(FILE* out, double interval_s);

// The rows of the VMA table, for both views: busiest first by `sort`.
enum class SortKey { Rate, Total, P99, Address };
const char* sort_key_name(SortKey k);

}  // namespace vmatrace
