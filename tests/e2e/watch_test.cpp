// `vmatrace watch` as it runs in production: a real Prometheus server scrapes
// it, storm workloads trigger captures by the full tracer (with
// --capture-before, flight recorders armed before the storm), and the daemon
// is stopped mid-capture. Counts are checked against the workloads' getrusage.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <dirent.h>

#include <chrono>
#include <fstream>
#include <sstream>
#include <functional>
#include <map>
#include <set>
#include <thread>

#include "checkpoints.h"
#include "harness.h"

namespace e2e {
namespace {

// Waits for cond, up to timeout_s: for the watch's next poll or Prometheus's
// next scrape. What it waited for is asserted afterwards, never the time.
bool eventually(const std::function<bool()>& cond, int timeout_s = 60) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(timeout_s);
  while (!cond()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return true;
}

int free_port() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof(a);
  bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a));
  getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  close(fd);
  return ntohs(a.sin_port);
}

std::string http_get(const std::string& url) {
  auto r = run({"curl", "-sf", "--max-time", "10", url}, 20);
  return r.status == 0 ? r.out : "";
}

// Sum of the samples of metric whose labels contain every one of `labels`
// (e.g. {"comm=\"spawner\""}) in a /metrics text.
double metric_sum(const std::string& text, const std::string& metric, const std::vector<std::string>& labels = {}) {
  double sum = 0;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(metric, 0) != 0 || (line.size() > metric.size() && line[metric.size()] != '{' &&
                                       line[metric.size()] != ' '))
      continue;
    bool match = true;
    for (const auto& l : labels) match = match && line.find(l) != std::string::npos;
    if (match) sum += std::stod(line.substr(line.rfind(' ') + 1));
  }
  return sum;
}

std::vector<json> events_of(const std::vector<json>& lines, const std::string& event) {
  std::vector<json> out;
  for (const auto& l : lines)
    if (l["event"] == event) out.push_back(l);
  return out;
}

std::vector<std::string> capture_files(const std::string& dir) {
  std::vector<std::string> out;
  if (DIR* d = opendir(dir.c_str())) {
    while (dirent* e = readdir(d)) {
      std::string n = e->d_name;
      if (n.size() > 4 && n.compare(n.size() - 4, 4, ".vmt") == 0) out.push_back(n);
    }
    closedir(d);
  }
  std::sort(out.begin(), out.end());
  return out;
}

long rss_kib(pid_t pid) {
  std::istringstream in(read_file("/proc/" + std::to_string(pid) + "/status"));
  std::string key;
  long v = -1;
  while (in >> key) {
    if (key == "VmRSS:") {
      in >> v;
      break;
    }
  }
  return v;
}

// The BPF programs a process holds (program and link fds), by id: what it
// loaded, told apart from any other vmatrace's on the machine.
std::set<unsigned> bpf_prog_ids_of(pid_t pid) {
  std::set<unsigned> ids;
  std::string dir = "/proc/" + std::to_string(pid) + "/fdinfo";
  if (DIR* d = opendir(dir.c_str())) {
    while (dirent* e = readdir(d)) {
      if (e->d_name[0] == '.') continue;
      std::istringstream in(read_file(dir + "/" + e->d_name));
      for (std::string line; std::getline(in, line);)
        if (line.rfind("prog_id:", 0) == 0) ids.insert(static_cast<unsigned>(std::stoul(line.substr(8))));
    }
    closedir(d);
  }
  return ids;
}

std::vector<pid_t> children_of(pid_t parent) {
  std::vector<pid_t> out;
  if (DIR* d = opendir("/proc")) {
    while (dirent* e = readdir(d)) {
      pid_t pid = atoi(e->d_name);
      if (pid <= 0) continue;
      std::string stat = read_file("/proc/" + std::to_string(pid) + "/stat");
      size_t paren = stat.rfind(')');
      int ppid = 0;
      if (paren != std::string::npos && sscanf(stat.c_str() + paren + 1, " %*c %d", &ppid) == 1 && ppid == parent)
        out.push_back(pid);
    }
    closedir(d);
  }
  return out;
}

// Program ids are allocated cyclically: a freed id is not soon reused.
bool prog_loaded(unsigned id) { return run({"bpftool", "prog", "show", "id", std::to_string(id)}).status == 0; }

// A running `vmatrace watch` on a free loopback port, logging to a file.
class Watch {
 public:
  Watch(TempDir* tmp, std::vector<std::string> extra) : events_(tmp->path("watch-events.jsonl")) {
    std::vector<std::string> argv = {vmatrace(), "watch", "--listen", "127.0.0.1:0", "--events", events_,
                                     "--interval", "0.25", "--top-k", "1000"};
    argv.insert(argv.end(), extra.begin(), extra.end());
    bg_ = std::make_unique<Background>(argv, true);
    EXPECT_TRUE(eventually([&] { return !events_of(lines(), "started").empty(); }, 30)) << bg_->err();
    auto started = events_of(lines(), "started");
    if (!started.empty()) port_ = started[0]["port"];
  }
  std::vector<json> lines() const { return json_lines(read_file(events_)); }
  std::vector<json> events(const std::string& kind, const std::string& comm = "") const {
    std::vector<json> out;
    for (auto& e : events_of(lines(), kind))
      if (comm.empty() || e["comm"] == comm) out.push_back(e);
    return out;
  }
  std::string metrics() const { return http_get(url()); }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_) + "/metrics"; }
  int port() const { return port_; }
  Background& process() { return *bg_; }

 private:
  std::string events_;
  std::unique_ptr<Background> bg_;
  int port_ = 0;
};

json read_truth(const std::string& path) {
  auto lines = json_lines(read_file(path));
  EXPECT_EQ(lines.size(), 1u) << path;
  return lines.empty() ? json{} : lines[0];
}

// A real Prometheus server scraping the watch every second, with its own
// temporary storage; its HTTP API answers the test's queries.
class Prometheus {
 public:
  Prometheus(TempDir* tmp, int target_port) : port_(free_port()) {
    std::string config = tmp->path("prometheus.yml");
    FILE* f = fopen(config.c_str(), "w");
    fprintf(f,
            "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n"
            "scrape_configs:\n  - job_name: vmatrace\n    static_configs:\n"
            "      - targets: ['127.0.0.1:%d']\n",
            target_port);
    fclose(f);
    bg_ = std::make_unique<Background>(
        std::vector<std::string>{"prometheus", "--config.file=" + config, "--storage.tsdb.path=" + tmp->path("tsdb"),
                                 "--web.listen-address=127.0.0.1:" + std::to_string(port_)},
        true);
  }
  bool ready() const { return run({"curl", "-sf", "--max-time", "5", base() + "/-/ready"}, 10).status == 0; }
  // The value of an instant query with one result, or -1.
  double query(const std::string& promql) const {
    auto r = run({"curl", "-sf", "--max-time", "10", "-G", base() + "/api/v1/query", "--data-urlencode",
                  "query=" + promql},
                 20);
    auto j = json::parse(r.out, nullptr, false);
    if (j.is_discarded() || j["status"] != "success" || j["data"]["result"].size() != 1) return -1;
    return std::stod(j["data"]["result"][0]["value"][1].get<std::string>());
  }
  std::string err() const { return bg_->err(); }

 private:
  std::string base() const { return "http://127.0.0.1:" + std::to_string(port_); }
  int port_;
  std::unique_ptr<Background> bg_;
};

TEST(Watch, PrometheusScrapesFaultCountsEqualToGetrusageAndTheStorm) {
  REQUIRE_ROOT();
  TempDir tmp;
  Watch watch(&tmp, {});
  ASSERT_GT(watch.port(), 0);
  Prometheus prom(&tmp, watch.port());
  ASSERT_TRUE(eventually([&] { return prom.ready(); })) << prom.err();

  std::string out = tmp.path("truth.json");
  auto wl = run({workload("watchstorm"), "64", "2000", "1", "6", out});
  ASSERT_EQ(wl.status, 0) << wl.err;
  json truth = read_truth(out);
  double expected = truth["minflt"].get<double>() + truth["majflt"].get<double>();
  ASSERT_GT(expected, 6 * 16384);

  // The workload's last faults come from its exit record; Prometheus has
  // them at its next scrape.
  const std::string faults = "sum(vmatrace_page_faults_total{comm=\"watchstorm\"})";
  double seen = -1;
  eventually([&] { return (seen = prom.query(faults)) >= expected * 0.99; });
  EXPECT_NEAR(seen, expected, expected * 0.01) << watch.metrics();
  EXPECT_GE(prom.query("sum(vmatrace_fault_storms_total{comm=\"watchstorm\"})"), 1);
  // Major faults as the workload counted them (a page of its freshly built
  // binary read back from disk is one); none: no major series at all.
  const double majors = truth["majflt"].get<double>();
  EXPECT_EQ(prom.query("sum(vmatrace_page_faults_total{comm=\"watchstorm\",type=\"major\"})"),
            majors > 0 ? majors : -1);
  // The agent reports on itself.
  EXPECT_GT(prom.query("process_resident_memory_bytes{job=\"vmatrace\"}"), 0);
  EXPECT_GE(prom.query("vmatrace_events_lost_total{reason=\"ringbuf\"}"), 0);

  // Other processes on the machine may storm too.
  auto storms = watch.events("storm", "watchstorm");
  ASSERT_FALSE(storms.empty());
  EXPECT_GT(storms[0]["rate"].get<double>(), 2000);
  EXPECT_TRUE(storms[0].contains("cgroup"));
  EXPECT_TRUE(storms[0].contains("time"));
}

// The machine's page faults so far, as /proc/vmstat counts them: every fault
// handle_mm_fault accounted, also those (GUP, failed) with no perf event.
double vmstat_pgfault() {
  std::istringstream in(read_file("/proc/vmstat"));
  std::string key;
  double v = -1;
  while (in >> key >> v)
    if (key == "pgfault") return v;
  return -1;
}

double latency_count(const std::string& metrics) {
  return metric_sum(metrics, "vmatrace_page_fault_latency_seconds_count");
}

TEST(Watch, LatencyHistogramTimesEveryFaultOfTheWorkload) {
  REQUIRE_ROOT();
  TempDir tmp;
  Watch watch(&tmp, {"--latency"});
  ASSERT_GT(watch.port(), 0) << watch.process().err();
  Prometheus prom(&tmp, watch.port());
  ASSERT_TRUE(eventually([&] { return prom.ready(); })) << prom.err();

  double pgfault_before = vmstat_pgfault();
  std::string before = watch.metrics();
  ASSERT_NE(before.find("# TYPE vmatrace_page_fault_latency_seconds histogram"), std::string::npos) << before;
  std::string out = tmp.path("truth.json");
  auto wl = run({workload("watchstorm"), "32", "300", "1", "4", out});
  ASSERT_EQ(wl.status, 0) << wl.err;
  std::string after = watch.metrics();
  double pgfault_after = vmstat_pgfault();
  json truth = read_truth(out);
  double workload_faults = truth["main_flt"].get<double>();
  ASSERT_GE(workload_faults, 4 * 8192);

  // Every fault of the workload was timed (the programs were on before it
  // started): at least its own count went into the histogram, and no more
  // than the whole machine's faults.
  double timed = latency_count(after) - latency_count(before);
  double untimed = metric_sum(after, "vmatrace_page_faults_untimed_total") -
                   metric_sum(before, "vmatrace_page_faults_untimed_total");
  EXPECT_GE(timed, workload_faults) << after;
  EXPECT_LE(timed + untimed, pgfault_after - pgfault_before);
  double sum = metric_sum(after, "vmatrace_page_fault_latency_seconds_sum") -
               metric_sum(before, "vmatrace_page_fault_latency_seconds_sum");
  EXPECT_GT(sum, 0);
  for (const char* type : {"minor", "major"}) {
    std::string t = std::string("type=\"") + type + "\"";
    EXPECT_EQ(metric_sum(after, "vmatrace_page_fault_latency_seconds_bucket", {t, "le=\"+Inf\""}),
              metric_sum(after, "vmatrace_page_fault_latency_seconds_count", {t}));
  }

  // The README's query, answered by Prometheus from these buckets.
  double p99 = -1;
  eventually([&] {
    p99 = prom.query(
        "histogram_quantile(0.99, sum by (instance, le) "
        "(rate(vmatrace_page_fault_latency_seconds_bucket{type=\"minor\"}[1m])))");
    return p99 > 0;
  });
  EXPECT_GT(p99, 0) << prom.err();
}

TEST(Watch, OneCapturePerStormWithinTheCooldownAndItsReportNamesTheStorm) {
  REQUIRE_ROOT();
  TempDir tmp;
  std::string dir = tmp.path("captures");
  Watch watch(&tmp, {"--capture-dir", dir, "--capture-seconds", "3", "--capture-cooldown", "3600",
                     "--capture-comm", "watchstorm"});
  std::string out = tmp.path("truth.json");
  Background wl({workload("watchstorm"), "64", "3000", "2", "0", out});

  // Storm 1 storms until its capture is recording, storm 2 until it is seen.
  ASSERT_TRUE(eventually([&] { return watch.events("capture").size() == 1; })) << watch.process().err();
  std::string file = watch.events("capture")[0]["file"];
  ASSERT_TRUE(wait_for_file(file, 60000));
  wl.signal(SIGUSR1);
  ASSERT_TRUE(eventually([&] { return watch.events("storm", "watchstorm").size() >= 2; }))
      << watch.process().err();
  wl.signal(SIGUSR1);
  ASSERT_EQ(wl.wait(300), 0);
  ASSERT_TRUE(eventually([&] { return watch.events("capture_done").size() == 1; }));

  EXPECT_EQ(watch.events("capture").size(), 1u) << "the second storm is within the cooldown";
  EXPECT_EQ(capture_files(dir).size(), 1u);
  std::string m = watch.metrics();
  // A storm paused longer than the rule's merge gap (a loaded machine) is
  // two storms: every one after the first falls within the cooldown.
  double storms = metric_sum(m, "vmatrace_fault_storms_total", {"comm=\"watchstorm\""});
  EXPECT_GE(storms, 2) << m;
  EXPECT_EQ(storms, watch.events("storm", "watchstorm").size());
  EXPECT_EQ(metric_sum(m, "vmatrace_captures_total"), 1);
  EXPECT_EQ(metric_sum(m, "vmatrace_captures_skipped_total", {"reason=\"cooldown\""}), storms - 1);
  EXPECT_EQ(watch.events("capture_done")[0]["status"], 0);
  EXPECT_EQ(watch.events("capture")[0]["before_s"], 0) << "no --capture-before: nothing before the storm";

  json truth = read_truth(out);
  auto sum = trace_summary(file);
  EXPECT_EQ(sum["complete"], true);
  EXPECT_EQ(sum["target"]["pid"], wl.pid());
  ASSERT_GE(sum["storms"].size(), 1u) << sum.dump(2);
  const json& s = sum["storms"][0];
  ASSERT_FALSE(s["vmas"].empty());
  EXPECT_EQ(s["vmas"][0]["start"], truth["start"]);
  EXPECT_EQ(s["vmas"][0]["end"], truth["end"]);
  ASSERT_FALSE(s["code"].empty());
  EXPECT_EQ(s["code"][0]["symbol"], "storm (watchstorm)");
}

TEST(Watch, CaptureDirKeepsTheNewestAndOnlyRemovesItsOwnFiles) {
  REQUIRE_ROOT();
  TempDir tmp;
  std::string dir = tmp.path("captures");
  ASSERT_EQ(mkdir(dir.c_str(), 0700), 0);
  for (const char* mine_not : {"notes.txt", "other.vmt"}) {
    FILE* f = fopen((dir + "/" + mine_not).c_str(), "w");
    fputs("not the watch's", f);
    fclose(f);
  }
  Watch watch(&tmp, {"--capture-dir", dir, "--capture-seconds", "1", "--capture-cooldown", "0",
                     "--capture-max-files", "2", "--capture-comm", "watchstorm",
                     // A slow capture start must not make the next storm "busy".
                     "--capture-max-running", "3"});
  std::string out = tmp.path("truth.json");
  Background wl({workload("watchstorm"), "32", "3000", "3", "0", out});
  // Each storm goes on until a capture of it is recording. A storm paused
  // longer than the rule's merge gap (a loaded machine) is two storms with a
  // capture each: at least three captures in all.
  size_t seen = 0;
  for (int storm = 0; storm < 3; storm++) {
    size_t before = seen;
    ASSERT_TRUE(eventually([&] { return (seen = watch.events("capture").size()) > before; }))
        << watch.process().err();
    ASSERT_TRUE(wait_for_file(watch.events("capture")[seen - 1]["file"], 60000));
    wl.signal(SIGUSR1);
  }
  ASSERT_EQ(wl.wait(300), 0);
  size_t made = 0;
  ASSERT_TRUE(eventually([&] {
    return watch.events("capture_done").size() == (made = watch.events("capture").size());
  }));
  auto captures = watch.events("capture");
  ASSERT_GE(made, 3u);

  auto files = capture_files(dir);
  ASSERT_EQ(files.size(), 3u) << "the newest two captures and other.vmt";
  EXPECT_EQ(dir + "/" + files[0], captures[made - 2]["file"]);
  EXPECT_EQ(dir + "/" + files[1], captures[made - 1]["file"]);
  EXPECT_EQ(files[2], "other.vmt");
  EXPECT_EQ(read_file(dir + "/notes.txt"), "not the watch's");
  EXPECT_EQ(metric_sum(watch.metrics(), "vmatrace_captures_total"), made);
}

TEST(Watch, SigtermMidCaptureEndsTheCaptureWithACompleteTrace) {
  REQUIRE_ROOT();
  TempDir tmp;
  std::string dir = tmp.path("captures");
  Watch watch(&tmp, {"--capture-dir", dir, "--capture-seconds", "600", "--capture-comm", "watchstorm"});
  std::string out = tmp.path("truth.json");
  Background wl({workload("watchstorm"), "32", "2000", "1", "0", out});
  ASSERT_TRUE(eventually([&] { return watch.events("capture").size() == 1; })) << watch.process().err();
  std::string file = watch.events("capture")[0]["file"];
  ASSERT_TRUE(wait_for_file(file, 60000));
  // The endpoint answers while the capture runs.
  EXPECT_EQ(metric_sum(watch.metrics(), "vmatrace_captures_total"), 1);
  std::set<unsigned> progs = bpf_prog_ids_of(watch.process().pid());
  ASSERT_FALSE(progs.empty());
  auto capture = children_of(watch.process().pid());
  ASSERT_EQ(capture.size(), 1u) << "the capture's recorder";
  auto capture_progs = bpf_prog_ids_of(capture[0]);
  ASSERT_FALSE(capture_progs.empty());
  progs.insert(capture_progs.begin(), capture_progs.end());

  watch.process().signal(SIGTERM);
  EXPECT_EQ(watch.process().wait(60), 0) << watch.process().err();
  auto done = watch.events("capture_done");
  ASSERT_EQ(done.size(), 1u) << watch.process().err();
  EXPECT_EQ(done[0]["status"], 0);
  EXPECT_EQ(watch.events("stopped").size(), 1u);
  auto sum = trace_summary(file);
  EXPECT_EQ(sum["complete"], true) << sum.dump(2);
  EXPECT_GT(sum["faults"]["total"].get<uint64_t>(), 0u);
  // The kernel frees the programs of closed links asynchronously (RCU).
  EXPECT_TRUE(eventually([&] {
    return std::none_of(progs.begin(), progs.end(), [](unsigned id) { return prog_loaded(id); });
  }, 10)) << "programs of the watch and its capture left loaded";
  wl.signal(SIGUSR1);
  EXPECT_EQ(wl.wait(300), 0);
}

TEST(Watch, ThousandsOfShortProcessesAreCountedWithFlatMemory) {
  REQUIRE_ROOT();
  TempDir tmp;
  Watch watch(&tmp, {});
  auto spawn = [&](int n) {
    auto r = run({workload("spawner"), std::to_string(n), "16"}, 300);
    EXPECT_EQ(r.status, 0) << r.err;
    auto lines = json_lines(r.out);
    return lines.empty() ? 0.0 : lines[0]["minflt"].get<double>() + lines[0]["majflt"].get<double>();
  };
  auto counted = [&] { return metric_sum(watch.metrics(), "vmatrace_page_faults_total", {"comm=\"spawner\""}); };
  // Warm up: the series, the allocator's pools, the cgroup names.
  double expected = spawn(1000);
  ASSERT_TRUE(eventually([&] { return counted() >= expected * 0.99; })) << counted() << " of " << expected;
  long rss_before = rss_kib(watch.process().pid());

  expected += spawn(5000);
  double seen = 0;
  eventually([&] { return (seen = counted()) >= expected * 0.99; });
  // Children live shorter than a poll: their faults come from exit records alone.
  EXPECT_NEAR(seen, expected, expected * 0.01);
  long rss_after = rss_kib(watch.process().pid());
  EXPECT_LE(rss_after, rss_before + 256) << "KiB resident before " << rss_before << ", after " << rss_after;
  std::string m = watch.metrics();
  EXPECT_EQ(metric_sum(m, "vmatrace_events_lost_total"), 0) << m;
}

TEST(Watch, FullDiskStopsCapturesNotTheMetricsUntilThereIsRoomAgain) {
  REQUIRE_ROOT();
  TempDir tmp;
  std::string dir = tmp.path("small");
  ASSERT_EQ(mkdir(dir.c_str(), 0700), 0);
  ASSERT_EQ(mount("tmpfs", dir.c_str(), "tmpfs", 0, "size=16m,mode=0700"), 0) << strerror(errno);
  struct Unmount {
    std::string d;
    ~Unmount() { umount2(d.c_str(), MNT_DETACH); }
  } unmount{dir};
  std::string filler = dir + "/filler";
  ASSERT_EQ(run({"dd", "if=/dev/zero", "of=" + filler, "bs=1M", "count=15"}).status, 0);
  Watch watch(&tmp, {"--capture-dir", dir, "--capture-seconds", "2", "--capture-cooldown", "0",
                     "--capture-min-free", std::to_string(4 << 20), "--capture-comm", "watchstorm"});
  std::string out = tmp.path("truth.json");
  Background wl({workload("watchstorm"), "32", "3000", "2", "0", out});

  ASSERT_TRUE(eventually([&] { return !watch.events("error").empty(); })) << watch.process().err();
  EXPECT_NE(watch.events("error")[0]["error"].get<std::string>().find("captures stopped"), std::string::npos);
  std::string m = watch.metrics();
  EXPECT_EQ(metric_sum(m, "vmatrace_captures_skipped_total", {"reason=\"disk_full\""}), 1) << m;
  // The storm goes on until the signal below: a round of it shows on /metrics.
  EXPECT_TRUE(eventually([&] {
    return metric_sum(watch.metrics(), "vmatrace_page_faults_total", {"comm=\"watchstorm\""}) > 32 * 256;
  })) << m;
  EXPECT_TRUE(watch.events("capture").empty());

  ASSERT_EQ(unlink(filler.c_str()), 0);
  wl.signal(SIGUSR1);
  ASSERT_TRUE(eventually([&] { return watch.events("capture").size() == 1; })) << watch.process().err();
  ASSERT_TRUE(wait_for_file(watch.events("capture")[0]["file"], 60000));
  wl.signal(SIGUSR1);
  ASSERT_EQ(wl.wait(300), 0);
  ASSERT_TRUE(eventually([&] { return watch.events("capture_done").size() == 1; }));
  EXPECT_EQ(watch.events("capture_done")[0]["status"], 0);
  EXPECT_EQ(watch.events("error").size(), 1u) << "one error for the whole full-disk spell";
}

TEST(Watch, SighupReopensTheEventsFileForLogRotation) {
  REQUIRE_ROOT();
  TempDir tmp;
  Watch watch(&tmp, {});
  std::string events = tmp.path("watch-events.jsonl"), rotated = events + ".1";
  ASSERT_EQ(rename(events.c_str(), rotated.c_str()), 0);
  watch.process().signal(SIGHUP);
  ASSERT_TRUE(eventually([&] { return watch.events("reopened").size() == 1; })) << watch.process().err();
  watch.process().signal(SIGTERM);
  EXPECT_EQ(watch.process().wait(60), 0);
  auto old_lines = json_lines(read_file(rotated));
  ASSERT_EQ(old_lines.size(), 1u);
  EXPECT_EQ(old_lines[0]["event"], "started");
  EXPECT_EQ(watch.events("stopped").size(), 1u) << "written to the new file";
}

TEST(Watch, BadArguments) {
  for (auto args : std::vector<std::vector<std::string>>{{"--listen", "9477"},
                                                         {"--listen", "127.0.0.1:99999"},
                                                         {"--interval", "0"},
                                                         {"--capture-seconds", "-1"},
                                                         {"--capture-before", "5"},
                                                         {"--capture-dir", "/tmp/x", "--capture-before", "-1"},
                                                         {"--capture-dir", "/tmp/x", "--capture-warn-fraction", "0.5"},
                                                         {"--capture-dir", "/tmp/x", "--capture-before", "5",
                                                          "--capture-warn-fraction", "2"},
                                                         {"--capture-dir", "/tmp/x", "--capture-before", "5",
                                                          "--capture-armed-max", "0"},
                                                         {"--top-k", "0"}}) {
    args.insert(args.begin(), {vmatrace(), "watch"});
    auto r = run(args);
    EXPECT_EQ(r.status, 2) << args[2];
    EXPECT_EQ(count_lines(r.err), 1) << r.err;
    EXPECT_EQ(r.err.rfind("vmatrace: ", 0), 0u) << r.err;
  }
}

TEST(Watch, CaptureDirWritableByOthersIsRefused) {
  REQUIRE_ROOT();
  TempDir tmp;
  std::string dir = tmp.path("open");
  ASSERT_EQ(mkdir(dir.c_str(), 0777), 0);
  ASSERT_EQ(chmod(dir.c_str(), 0777), 0);
  auto r = run({vmatrace(), "watch", "--listen", "127.0.0.1:0", "--capture-dir", dir});
  EXPECT_EQ(r.status, 1);
  EXPECT_EQ(r.err, "vmatrace: " + dir + " is writable by others: captures need a directory only this user can write\n");
}

// --- Captures with the seconds before the storm (--capture-before) ---

constexpr uint64_t kPage = 4096, kRoundBegin = 0x100000000000ULL, kRoundEnd = 0x200000000000ULL;

// The ramp workload's log: round -> its phase and what getrusage counted.
struct LoggedRound {
  std::string phase;
  uint64_t faults = 0;
};
std::map<uint64_t, LoggedRound> ramp_log(const std::string& log) {
  std::map<uint64_t, LoggedRound> out;
  std::istringstream in(read_file(log));
  uint64_t r, minflt, majflt;
  std::string phase;
  while (in >> r >> phase >> minflt >> majflt) out[r] = {phase, minflt + majflt};
  return out;
}

std::string last_phase(const std::string& log) {
  auto rounds = ramp_log(log);
  return rounds.empty() ? "" : rounds.rbegin()->second.phase;
}

// Every round whose both markers a trace holds: its complete faults of pid
// between them, and when it began (CLOCK_MONOTONIC).
struct TracedRound {
  uint64_t faults = 0;
  uint64_t begin_ns = 0;
};
std::map<uint64_t, TracedRound> rounds_in(const std::string& trace, uint32_t pid) {
  const uint64_t t0 = trace_summary(trace)["clock_monotonic_ns"];
  std::map<uint64_t, TracedRound> out;
  bool in_round = false;
  uint64_t round = 0;
  TracedRound cur;
  for (const auto& e : trace_events(trace)) {
    if (e["pid"] != pid) continue;
    if (e["kind"] == "munmap" && e["length"] == 0) {
      uint64_t a = e["addr"];
      if (a >= kRoundBegin && a < kRoundEnd) {
        in_round = true;
        round = (a - kRoundBegin) / kPage;
        cur = {0, t0 + e["ts"].get<uint64_t>()};
      } else if (a >= kRoundEnd && in_round && (a - kRoundEnd) / kPage == round) {
        out[round] = cur;
        in_round = false;
      }
    } else if (e["kind"] == "fault" && in_round) {
      cur.faults += e["complete"].get<bool>();
    }
  }
  return out;
}

// CLOCK_MONOTONIC of an event line's "time" (UTC, to the millisecond).
uint64_t monotonic_of(const std::string& iso) {
  tm t{};
  int ms = 0;
  EXPECT_NE(strptime(iso.c_str(), "%Y-%m-%dT%H:%M:%S", &t), nullptr) << iso;
  EXPECT_EQ(sscanf(iso.c_str() + 19, ".%3dZ", &ms), 1) << iso;
  timespec real, mono;
  clock_gettime(CLOCK_REALTIME, &real);
  clock_gettime(CLOCK_MONOTONIC, &mono);
  const int64_t offset = (real.tv_sec - mono.tv_sec) * 1000000000LL + (real.tv_nsec - mono.tv_nsec);
  return static_cast<uint64_t>(static_cast<int64_t>(timegm(&t)) * 1000000000LL + ms * 1000000LL - offset);
}

std::vector<std::string> dir_entries(const std::string& dir) {
  std::vector<std::string> out;
  if (DIR* d = opendir(dir.c_str())) {
    while (dirent* e = readdir(d))
      if (e->d_name[0] != '.') out.push_back(e->d_name);
    closedir(d);
  }
  return out;
}

std::vector<json> lines_of_pid(const Watch& watch, const std::string& kind, pid_t pid) {
  std::vector<json> out;
  for (auto& l : watch.events(kind))
    if (l["pid"] == pid) out.push_back(l);
  return out;
}

// The ramp's warm-up: rounds of 8 pages 20 ms apart (about 400 faults/s; its
// calm makes about 50) pulsing with its calm. At a tenth of the storm rule
// (200/s) that warns however slowly this machine runs, and it stays far below
// the storm (2,000/s) even when a poll comes late. The storm: 64 MiB rounds.
std::vector<std::string> ramp(const std::string& log, const std::string& storm_mib) {
  return {workload("ramp"), log, "3000", "8", storm_mib};
}
const std::vector<std::string> kArmRamp = {"--capture-warn-fraction", "0.1", "--capture-comm", "ramp"};

std::vector<std::string> with(std::vector<std::string> a, const std::vector<std::string>& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

TEST(Watch, AnArmedFlightRecorderGivesTheCaptureTheSecondsBeforeTheStorm) {
  REQUIRE_ROOT();
  TempDir tmp;
  std::string dir = tmp.path("captures"), log = tmp.path("ramp.log");
  const double before = 4;
  Watch watch(&tmp, with({"--capture-dir", dir, "--capture-seconds", "3", "--capture-before", "4",
                          "--capture-cooldown", "3600"},
                         kArmRamp));
  Background wl(ramp(log, "64"));
  ASSERT_TRUE(eventually([&] { return !lines_of_pid(watch, "armed", wl.pid()).empty(); }, 300))
      << watch.process().err();
  EXPECT_EQ(lines_of_pid(watch, "armed", wl.pid())[0]["comm"], "ramp");
  EXPECT_EQ(metric_sum(watch.metrics(), "vmatrace_capture_recorders_armed"), 1);
  // It records: its window fills with the warm-up.
  std::this_thread::sleep_for(std::chrono::duration<double>(before + 1));
  EXPECT_TRUE(watch.events("capture").empty()) << "no storm yet";
  EXPECT_TRUE(lines_of_pid(watch, "disarmed", wl.pid()).empty()) << "the warm-up keeps it armed";

  // The storm: the workload stops itself first, for a checkpoint.
  wl.signal(SIGUSR1);
  ASSERT_TRUE(wait_all_stopped(wl.pid(), 60000));
  if (!kernel_has("vma_iter")) std::this_thread::sleep_for(std::chrono::milliseconds(600));  // its resync
  auto cp = take(wl.pid(), "just before the storm");
  kill(wl.pid(), SIGCONT);
  ASSERT_TRUE(eventually([&] { return watch.events("capture", "ramp").size() == 1; }, 120)) << watch.process().err();
  json capture = watch.events("capture", "ramp")[0];
  EXPECT_EQ(capture["before_s"], before);
  ASSERT_TRUE(eventually([&] { return watch.events("capture_done").size() == 1; }, 120)) << watch.process().err();
  EXPECT_EQ(watch.events("capture_done")[0]["status"], 0);
  EXPECT_EQ(metric_sum(watch.metrics(), "vmatrace_captures_total"), 1);
  wl.signal(SIGUSR1);  // the storm ends; then its calm
  ASSERT_TRUE(eventually([&] { return last_phase(log) == "calm"; }, 120));
  wl.signal(SIGUSR1);
  ASSERT_EQ(wl.wait(300), 0);

  std::string file = capture["file"];
  EXPECT_EQ(dir_entries(dir), std::vector<std::string>{file.substr(dir.size() + 1)}) << "one capture, nothing else";
  auto sum = trace_summary(file);
  EXPECT_EQ(sum["complete"], true) << sum.dump(2);
  EXPECT_EQ(sum["target"]["pid"], wl.pid());
  ASSERT_TRUE(sum.contains("flight")) << sum.dump(2);
  // Its window begins `before` seconds before the storm was seen (less a
  // second: the line's time is to the millisecond, the recorder's chunks to the second).
  ASSERT_EQ(watch.events("storm", "ramp").size(), 1u);
  const uint64_t storm_ns = monotonic_of(watch.events("storm", "ramp")[0]["time"]);
  const uint64_t t0 = sum["clock_monotonic_ns"];
  EXPECT_LE(t0 + static_cast<uint64_t>((before - 1) * 1e9), storm_ns)
      << "the capture begins " << (static_cast<double>(storm_ns) - static_cast<double>(t0)) / 1e9
      << " s before the storm";

  // Every round whole in it, before the storm and after, has the workload's own count, and none is missing.
  auto want = ramp_log(log);
  auto got = rounds_in(file, static_cast<uint32_t>(wl.pid()));
  ASSERT_FALSE(got.empty());
  EXPECT_EQ(got.rbegin()->first - got.begin()->first + 1, got.size()) << "rounds in a row";
  size_t warm_before = 0, storm_rounds = 0;
  uint64_t faults_before = 0;
  for (const auto& [r, seen] : got) {
    ASSERT_TRUE(want.count(r)) << "round " << r << " is not in the workload's log";
    EXPECT_EQ(seen.faults, want[r].faults) << "round " << r << " (" << want[r].phase << ")";
    if (seen.begin_ns < storm_ns) faults_before += seen.faults;
    warm_before += want[r].phase == "warm" && seen.begin_ns < storm_ns;
    storm_rounds += want[r].phase == "storm";
  }
  EXPECT_GT(warm_before, 0u) << "the warm-up before the storm is in the capture";
  EXPECT_GE(storm_rounds, 1u) << "and the storm after it";
  EXPECT_GT(faults_before, 0u);
  // The model from the capture alone is the kernel's at the checkpoint before the storm.
  EXPECT_EQ(maps_at(file, cp), cp.maps);
}

TEST(Watch, ACalmedProcessIsDisarmedAndItsRecorderLeavesNothing) {
  REQUIRE_ROOT();
  TempDir tmp;
  std::string dir = tmp.path("captures"), log = tmp.path("ramp.log");
  Watch watch(&tmp, with({"--capture-dir", dir, "--capture-before", "3"}, kArmRamp));
  Background wl(ramp(log, "0"));
  ASSERT_TRUE(eventually([&] { return !lines_of_pid(watch, "armed", wl.pid()).empty(); }, 300))
      << watch.process().err();
  auto recorders = children_of(watch.process().pid());
  ASSERT_EQ(recorders.size(), 1u) << "the flight recorder";
  auto progs = bpf_prog_ids_of(recorders[0]);
  ASSERT_FALSE(progs.empty());

  wl.signal(SIGUSR1);  // the warm-up ends: calm from now on
  ASSERT_TRUE(eventually([&] { return !lines_of_pid(watch, "disarmed", wl.pid()).empty(); }, 120))
      << watch.process().err();
  EXPECT_EQ(lines_of_pid(watch, "disarmed", wl.pid())[0]["reason"], "calm");
  EXPECT_TRUE(eventually([&] { return children_of(watch.process().pid()).empty(); }, 60));
  EXPECT_TRUE(eventually([&] {
    return std::none_of(progs.begin(), progs.end(), [](unsigned id) { return prog_loaded(id); });
  }, 10)) << "the recorder's programs left loaded";
  EXPECT_TRUE(eventually([&] { return metric_sum(watch.metrics(), "vmatrace_capture_recorders_armed") == 0; }));
  EXPECT_TRUE(dir_entries(dir).empty()) << "an unfired recorder writes nothing";
  EXPECT_TRUE(watch.events("capture").empty());
  EXPECT_TRUE(watch.events("error").empty()) << watch.process().err();
  wl.signal(SIGUSR1);
  EXPECT_EQ(wl.wait(300), 0);
}

TEST(Watch, SigtermEndsTheArmedRecordersWithNothingWrittenOrLeftAttached) {
  REQUIRE_ROOT();
  TempDir tmp;
  std::string dir = tmp.path("captures"), log = tmp.path("ramp.log");
  Watch watch(&tmp, with({"--capture-dir", dir, "--capture-before", "30"}, kArmRamp));
  Background wl(ramp(log, "0"));
  ASSERT_TRUE(eventually([&] { return !lines_of_pid(watch, "armed", wl.pid()).empty(); }, 300))
      << watch.process().err();
  std::set<unsigned> progs = bpf_prog_ids_of(watch.process().pid());
  auto recorders = children_of(watch.process().pid());
  ASSERT_EQ(recorders.size(), 1u);
  auto recorder_progs = bpf_prog_ids_of(recorders[0]);
  ASSERT_FALSE(recorder_progs.empty());
  progs.insert(recorder_progs.begin(), recorder_progs.end());

  watch.process().signal(SIGTERM);
  EXPECT_EQ(watch.process().wait(60), 0) << watch.process().err();
  auto disarmed = lines_of_pid(watch, "disarmed", wl.pid());
  ASSERT_EQ(disarmed.size(), 1u);
  EXPECT_EQ(disarmed[0]["reason"], "stopped");
  EXPECT_EQ(watch.events("stopped").size(), 1u);
  EXPECT_TRUE(watch.events("error").empty()) << watch.process().err();
  EXPECT_TRUE(dir_entries(dir).empty());
  EXPECT_NE(kill(recorders[0], 0), 0) << "the recorder is gone";
  EXPECT_TRUE(eventually([&] {
    return std::none_of(progs.begin(), progs.end(), [](unsigned id) { return prog_loaded(id); });
  }, 10)) << "programs of the watch and its recorder left loaded";
  EXPECT_EQ(kill(wl.pid(), 0), 0) << "the workload went on untouched";
}

// The recorder's side (`--flight-armed`, what the watch runs): nothing
// written unless SIGUSR1 fired it; once fired, its end writes the window.
TEST(Watch, AnArmedFlightRecorderWritesOnlyOnceFired) {
  REQUIRE_ROOT();
  TempDir tmp;
  std::string unfired = tmp.path("unfired.vmt"), fired = tmp.path("fired.vmt"), log = tmp.path("rounds.log");
  auto r = run({vmatrace(), "-o", unfired, "--flight", "5", "--flight-armed", "--", workload("rounds"), log, "20"});
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.err.find("not fired"), std::string::npos) << r.err;
  EXPECT_EQ(dir_entries(tmp.path("")), std::vector<std::string>{"rounds.log"}) << "nothing but the workload's log";

  // Rounds run once the command runs, traced: the recorder's handler is in place.
  log = tmp.path("rounds2.log");
  Background rec({vmatrace(), "-o", fired, "--flight", "60", "--flight-armed", "--", workload("rounds"), log, "300"},
                 true);
  ASSERT_TRUE(eventually([&] { return count_lines(read_file(log)) >= 20; }, 300)) << rec.err();
  rec.signal(SIGUSR1);
  ASSERT_EQ(rec.wait(300), 0) << rec.err();
  auto sum = trace_summary(fired);
  EXPECT_EQ(sum["complete"], true);
  ASSERT_TRUE(sum.contains("flight")) << sum.dump(2);
  EXPECT_EQ(sum["flight"]["trigger"], "exit");
  EXPECT_EQ(count_lines(read_file(log)), 300) << "the workload ran to its end";
  // The window is longer than the run: every round is in it, with the workload's count.
  std::istringstream in(read_file(log));
  std::map<uint64_t, uint64_t> want;
  for (uint64_t round, minflt, majflt; in >> round >> minflt >> majflt;) want[round] = minflt + majflt;
  auto got = rounds_in(fired, static_cast<uint32_t>(sum["target"]["pid"].get<int>()));
  EXPECT_EQ(got.size(), 300u);
  for (const auto& [round, seen] : got) EXPECT_EQ(seen.faults, want[round]) << "round " << round;
  EXPECT_FALSE(std::ifstream(fired + ".2").good()) << "one dump: SIGUSR1 wrote none of its own";
}

}  // namespace
}  // namespace e2e
