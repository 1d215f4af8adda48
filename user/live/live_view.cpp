#include "live/live_view.h"

#include <poll.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <unistd.h>

#include <algorithm>
#include <cinttypes>
#include <cmath>
#include <cstdio>
#include <map>
#include <tuple>
#include <vector>

#include "model/maps_format.h"
#include "output/format.h"
#include "report/storm_text.h"
#include "util/escape.h"
#include "util/latency_histogram.h"

namespace vmatrace {
namespace {

constexpr uint64_t kSecond = 1000000000ULL;

// A VMA as the SRE sees it: lifetimes of the same range and name (the same
// address mapped again and again) are one row.
struct Row {
  uint64_t start, end, perms_flags;
  std::string name;
  std::vector<uint64_t> lifetimes;
  uint32_t rate = 0;  // faults in the last complete second
  uint64_t total = 0;
  uint64_t p99 = 0;
};

std::vector<Row> table_rows(const LiveFrame& f, SortKey key, size_t max_rows) {
  const SecondCounts& last = f.stats->last_second();
  std::unordered_map<uint64_t, uint32_t> recent;  // lifetimes with a fault in the last minute
  for (const auto& s : f.stats->seconds())
    for (const auto& [id, n] : s.by_lifetime) recent.emplace(id, 0);
  for (const auto& [id, n] : last.by_lifetime) recent[id] = n;
  f.model->refresh_open_names();
  std::map<std::tuple<uint64_t, uint64_t, std::string>, Row> by_range;
  for (const auto& [id, rate] : recent) {
    const Lifetime& l = f.model->lifetimes()[id];
    Row& r = by_range[{l.info.start, l.info.end, l.name}];
    r.start = l.info.start;
    r.end = l.info.end;
    r.perms_flags = l.info.flags;
    r.name = l.name.empty() ? "[anon]" : escape_text(l.name);
    r.lifetimes.push_back(id);
    r.rate += rate;
    r.total += l.faults.total();
  }
  std::vector<Row> rows;
  for (auto& [k, r] : by_range) rows.push_back(std::move(r));
  auto fill_p99 = [&](Row& r) {
    LatencyHistogram lat;
    for (uint64_t id : r.lifetimes) lat.merge(f.model->lifetimes()[id].faults.latency);
    r.p99 = lat.percentiles().p99;
  };
  if (key == SortKey::P99)
    for (auto& r : rows) fill_p99(r);
  std::stable_sort(rows.begin(), rows.end(), [key](const Row& a, const Row& b) {
    switch (key) {
      case SortKey::Rate: return a.rate != b.rate ? a.rate > b.rate : a.total > b.total;
      case SortKey::Total: return a.total > b.total;
      case SortKey::P99: return a.p99 > b.p99;
      case SortKey::Address: return a.start < b.start;
    }
    return false;
  });
  if (rows.size() > max_rows) rows.resize(max_rows);
  if (key != SortKey::P99)
    for (auto& r : rows) fill_p99(r);
  return rows;
}

// One character per second, oldest left: how hard each second was hit.
std::string strip(const LiveStats& s, const std::vector<uint64_t>& lifetimes, size_t width) {
  static const char kShades[] = " .:-=+*#%@";
  const auto& secs = s.seconds();
  std::string out;
  size_t n = secs.size() > 1 ? secs.size() - 1 : 0;  // complete seconds
  for (size_t i = n > width ? n - width : 0; i < n; i++) {
    uint32_t c = 0;
    for (uint64_t id : lifetimes) {
      auto it = secs[i].by_lifetime.find(id);
      if (it != secs[i].by_lifetime.end()) c += it->second;
    }
    int level = c == 0 ? 0 : std::min(9, 1 + static_cast<int>(std::log10(c) * 2));
    out += kShades[level];
  }
  return std::string(width > out.size() ? width - out.size() : 0, ' ') + out;
}

std::string header_line(const LiveFrame& f) {
  const SecondCounts& last = f.stats->last_second();
  char buf[256];
  snprintf(buf, sizeof(buf),
           "faults/s %" PRIu64 " (minor %" PRIu64 ", major %" PRIu64 ")  VMA changes/s %" PRIu64
           "  lost %" PRIu64 "  %.1f s",
           last.minor + last.major, last.minor, last.major, last.vma_changes, f.lost, f.elapsed_ns / 1e9);
  return buf;
}

// The storm under way, if any, and why: "" when there is none.
std::string storm_line(const LiveFrame& f) {
  auto s = f.stats->running_storm();
  if (!s) return "";
  for (Cause& c : s->causes)
    if (c.command.empty() && c.pid == f.pid) c.command = f.command;
  char buf[128];
  snprintf(buf, sizeof(buf), "STORM since %.2f s, peak %.0f faults/s: ", s->start_ns / 1e9, s->peak_rate);
  return buf + storm_cause_label(*s);
}

std::string row_line(const Row& r, const LiveStats& s, size_t name_width, size_t strip_width) {
  char range[48], buf[512];
  snprintf(range, sizeof(range), "%" PRIx64 "-%" PRIx64, r.start, r.end);
  std::string name = r.name;
  if (name.size() > name_width) name = "…" + name.substr(name.size() - name_width + 1);
  snprintf(buf, sizeof(buf), "%-27s %-4s %-*s %9u %10" PRIu64 " %8s |%s|", range, vma_perms(r.perms_flags).c_str(),
           static_cast<int>(name_width), name.c_str(), r.rate, r.total,
           r.p99 ? format_duration(r.p99).c_str() : "-", strip(s, r.lifetimes, strip_width).c_str());
  return buf;
}

class TerminalView : public Display {
 public:
  TerminalView() {
    if (isatty(STDIN_FILENO) && tcgetattr(STDIN_FILENO, &saved_) == 0) {
      termios raw = saved_;
      raw.c_lflag &= ~static_cast<tcflag_t>(ICANON | ECHO);
      raw.c_cc[VMIN] = 0;
      raw.c_cc[VTIME] = 0;
      raw_ = tcsetattr(STDIN_FILENO, TCSANOW, &raw) == 0;
    }
    fputs("\x1b[?1049h\x1b[?25l", stdout);  // alternate screen, hide cursor
    fflush(stdout);
  }
  ~TerminalView() override {
    fputs("\x1b[?25h\x1b[?1049l", stdout);
    fflush(stdout);
    if (raw_) tcsetattr(STDIN_FILENO, TCSANOW, &saved_);
  }

  void update(const LiveFrame& f) override {
    bool keyed = read_keys();
    if (!keyed && f.elapsed_ns < last_draw_ + kSecond && last_draw_) return;
    if (paused_ && !keyed) return;
    last_draw_ = f.elapsed_ns ? f.elapsed_ns : 1;
    draw(f);
  }
  bool quit_requested() const override { return quit_; }

 private:
  bool read_keys() {
    bool any = false;
    pollfd p{STDIN_FILENO, POLLIN, 0};
    char c;
    while (poll(&p, 1, 0) > 0 && read(STDIN_FILENO, &c, 1) == 1) {
      any = true;
      if (c == 'q' || c == 'Q') quit_ = true;
      if (c == 'p' || c == 'P' || c == ' ') paused_ = !paused_;
      if (c == 's' || c == 'S') sort_ = static_cast<SortKey>((static_cast<int>(sort_) + 1) % 4);
    }
    return any;
  }

  void draw(const LiveFrame& f) {
    winsize ws{};
    int cols = 120, lines = 40;
    if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col) {
      cols = ws.ws_col;
      lines = ws.ws_row;
    }
    const size_t strip_width = std::clamp(cols - 100, 10, 60);
    const size_t name_width = static_cast<size_t>(std::max(12, cols - 27 - 5 - 9 - 11 - 9 - 7 - static_cast<int>(strip_width)));
    std::string out = "\x1b[H\x1b[2J";
    char buf[512];
    snprintf(buf, sizeof(buf), "vmatrace  pid %u (%s)%s\n", f.pid, f.command.c_str(), paused_ ? "  [paused]" : "");
    out += buf;
    out += header_line(f) + "\n";
    std::string storm = storm_line(f);
    if (storm.size() > static_cast<size_t>(cols)) storm.resize(static_cast<size_t>(cols));
    out += storm + "\n";
    snprintf(buf, sizeof(buf), "sort: %s   keys: s sort  p pause  q quit\n", sort_key_name(sort_));
    out += buf;
    snprintf(buf, sizeof(buf), "%-27s %-4s %-*s %9s %10s %8s |%*s|\n", "RANGE", "PERM", static_cast<int>(name_width),
             "NAME", "FAULTS/S", "TOTAL", "P99", static_cast<int>(strip_width), "last seconds");
    out += buf;
    size_t max_rows = lines > 7 ? static_cast<size_t>(lines - 7) : 1;
    for (const Row& r : table_rows(f, sort_, max_rows)) out += row_line(r, *f.stats, name_width, strip_width) + "\n";
    fputs(out.c_str(), stdout);
    fflush(stdout);
  }

  termios saved_{};
  bool raw_ = false, quit_ = false, paused_ = false;
  SortKey sort_ = SortKey::Rate;
  uint64_t last_draw_ = 0;
};

class PlainView : public Display {
 public:
  PlainView(FILE* out, double interval_s) : out_(out), interval_ns_(static_cast<uint64_t>(interval_s * 1e9)) {}
  void update(const LiveFrame& f) override {
    if (f.elapsed_ns < next_) return;
    next_ = f.elapsed_ns + interval_ns_;
    std::string text = "[" + std::to_string(f.elapsed_ns / kSecond) + " s] pid " + std::to_string(f.pid) + ": " +
                       header_line(f) + "\n";
    std::string storm = storm_line(f);
    if (!storm.empty()) text += "    " + storm + "\n";
    for (const Row& r : table_rows(f, SortKey::Rate, 5))
      if (r.rate) text += "    " + row_line(r, *f.stats, 40, 10) + "\n";
    fputs(text.c_str(), out_);
    fflush(out_);
  }

 private:
  FILE* out_;
  uint64_t interval_ns_, next_ = kSecond;
};

}  // namespace

const char* sort_key_name(SortKey k) {
  switch (k) {
    case SortKey::Rate: return "faults/s";
    case SortKey::Total: return "total faults";
    case SortKey::P99: return "p99 latency";
    case SortKey::Address: return "address";
  }
  return "?";
}

std::unique_ptr<Display> make_terminal_view() { return std::make_unique<TerminalView>(); }
std::unique_ptr<Display> make_plain_view(FILE* out, double interval_s) {
  return std::make_unique<PlainView>(out, interval_s);
}

}  // namespace vmatrace
