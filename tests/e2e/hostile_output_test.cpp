// Outputs: vmatrace runs as root and is handed paths in directories other
// users can write to. It never writes through a link or into a file it did
// not create, replaces only its own user's regular files (by rename: their
// contents are never written), writes devices and FIFOs in place, refuses to
// overwrite its input, creates 0600 files, and leaves nothing half-written.
#include <dirent.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <fstream>
#include <set>

#include "harness.h"

namespace e2e {
namespace {

void put(const std::string& path, const std::string& text) { std::ofstream(path, std::ios::trunc) << text; }

struct stat lstat_of(const std::string& path) {
  struct stat st{};
  EXPECT_EQ(lstat(path.c_str(), &st), 0) << path;
  return st;
}

std::set<std::string> names_in(const std::string& dir) {
  std::set<std::string> out;
  DIR* d = opendir(dir.c_str());
  while (dirent* e = d ? readdir(d) : nullptr)
    if (e->d_name[0] != '.') out.insert(e->d_name);
  if (d) closedir(d);
  return out;
}

void expect_refused(const RunResult& r, const std::string& needle) {
  EXPECT_EQ(r.status, 1) << r.err;
  EXPECT_EQ(count_lines(r.err), 1) << r.err;
  EXPECT_EQ(r.err.rfind("vmatrace: ", 0), 0u) << r.err;
  EXPECT_NE(r.err.find(needle), std::string::npos) << r.err;
}

// A small complete trace to report on.
std::string record_trace(const TempDir& tmp) {
  auto trace = tmp.path("t.vmt");
  auto r = run({vmatrace(), "-o", trace, "--", workload("faults"), "64"});
  EXPECT_EQ(r.status, 0) << r.err;
  return trace;
}

TEST(OutputFiles, CharacterDevicesAreWrittenInPlace) {
  REQUIRE_ROOT();
  TempDir tmp;
  // Nodes of our own (not /dev/null itself: a regression would break the machine).
  auto null = tmp.path("null"), full = tmp.path("full");
  ASSERT_EQ(mknod(null.c_str(), S_IFCHR | 0666, makedev(1, 3)), 0);
  ASSERT_EQ(mknod(full.c_str(), S_IFCHR | 0666, makedev(1, 7)), 0);
  auto r = run({vmatrace(), "-o", null, "--", "true"});
  EXPECT_EQ(r.status, 0) << r.err;
  expect_refused(run({vmatrace(), "-o", full, "--", "true"}), "No space left on device");
  auto trace = record_trace(tmp);
  EXPECT_EQ(run({vmatrace(), "report", trace, "--perfetto", null}).status, 0);
  expect_refused(run({vmatrace(), "report", trace, "--perfetto", full}), "No space left on device");
  for (const auto& dev : {null, full}) {
    auto st = lstat_of(dev);
    EXPECT_TRUE(S_ISCHR(st.st_mode)) << dev << " must stay a device";
  }
  EXPECT_EQ(names_in(tmp.path("")), (std::set<std::string>{"null", "full", "t.vmt"})) << "no temporary file left";
}

TEST(OutputFiles, AFifoIsWrittenInPlaceForItsReader) {
  REQUIRE_ROOT();
  TempDir tmp;
  auto fifo = tmp.path("fifo"), copy = tmp.path("copy.vmt");
  ASSERT_EQ(mkfifo(fifo.c_str(), 0600), 0);
  Background reader({"sh", "-c", "exec cat '" + fifo + "' > '" + copy + "'"});  // exec: killed if it hangs
  auto r = run({vmatrace(), "-o", fifo, "--", workload("faults"), "64"});
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(reader.wait(), 0);
  EXPECT_TRUE(S_ISFIFO(lstat_of(fifo).st_mode)) << "the FIFO must stay a FIFO";
  auto sum = trace_summary(copy);
  EXPECT_TRUE(sum["complete"].get<bool>()) << "the reader got the whole trace";
  EXPECT_GE(sum["faults"]["total"].get<int>(), 64);
}

TEST(OutputFiles, NoSymbolicLinkIsFollowed) {
  REQUIRE_ROOT();
  TempDir tmp;
  auto trace = record_trace(tmp);
  auto victim = tmp.path("victim");
  put(victim, "precious");
  for (const std::string& link : {tmp.path("link"), tmp.path("link.svg")})
    ASSERT_EQ(symlink(victim.c_str(), link.c_str()), 0);
  expect_refused(run({vmatrace(), "-o", tmp.path("link"), "--", "true"}), "symbolic link");
  expect_refused(run({vmatrace(), "report", trace, "--heatmap", tmp.path("link.svg")}), "symbolic link");
  expect_refused(run({vmatrace(), "report", trace, "--perfetto", tmp.path("link")}), "symbolic link");
  expect_refused(run({vmatrace(), "report", trace, "--folded", tmp.path("link")}), "symbolic link");
  EXPECT_EQ(read_file(victim), "precious");
  EXPECT_TRUE(S_ISLNK(lstat_of(tmp.path("link")).st_mode));
  EXPECT_EQ(names_in(tmp.path("")), (std::set<std::string>{"t.vmt", "victim", "link", "link.svg"}));
}

TEST(OutputFiles, OwnFilesAreReplacedNeverWrittenThrough) {
  REQUIRE_ROOT();
  TempDir tmp;
  auto trace = record_trace(tmp);
  // A hard link sees any write into the old file.
  for (std::string name : {"old.vmt", "old.svg", "old.json"}) {
    put(tmp.path(name), "old contents");
    ASSERT_EQ(link(tmp.path(name).c_str(), tmp.path(name + ".link").c_str()), 0);
    ASSERT_EQ(chmod(tmp.path(name).c_str(), 0644), 0);
  }
  EXPECT_EQ(run({vmatrace(), "-o", tmp.path("old.vmt"), "--", "true"}).status, 0);
  EXPECT_EQ(run({vmatrace(), "report", trace, "--heatmap", tmp.path("old.svg")}).status, 0);
  EXPECT_EQ(run({vmatrace(), "report", trace, "--perfetto", tmp.path("old.json")}).status, 0);
  for (std::string name : {"old.vmt", "old.svg", "old.json"}) {
    EXPECT_EQ(read_file(tmp.path(name + ".link")), "old contents") << name << " was written through";
    EXPECT_NE(read_file(tmp.path(name)), "old contents") << name << " was not replaced";
    EXPECT_EQ(lstat_of(tmp.path(name)).st_mode & 07777, 0600u) << name;
  }
  EXPECT_TRUE(trace_summary(tmp.path("old.vmt"))["complete"].get<bool>());
}

TEST(OutputFiles, AnotherUsersFileIsRefused) {
  REQUIRE_ROOT();
  TempDir tmp;
  auto trace = record_trace(tmp);
  auto theirs = tmp.path("theirs.svg");
  put(theirs, "theirs");
  ASSERT_EQ(chown(theirs.c_str(), 65534, 65534), 0);
  expect_refused(run({vmatrace(), "-o", theirs, "--", "true"}), "belongs to uid 65534");
  expect_refused(run({vmatrace(), "report", trace, "--heatmap", theirs}), "belongs to uid 65534");
  expect_refused(run({vmatrace(), "report", trace, "--perfetto", theirs}), "belongs to uid 65534");
  EXPECT_EQ(read_file(theirs), "theirs");
  EXPECT_EQ(lstat_of(theirs).st_uid, 65534u);
}

TEST(OutputFiles, ReportNeverOverwritesItsInput) {
  REQUIRE_ROOT();
  TempDir tmp;
  auto trace = record_trace(tmp);
  std::string before = read_file(trace);
  ASSERT_EQ(link(trace.c_str(), tmp.path("same.svg").c_str()), 0);
  expect_refused(run({vmatrace(), "report", trace, "--perfetto", trace}), "is the trace being read");
  expect_refused(run({vmatrace(), "report", trace, "--folded", trace}), "is the trace being read");
  expect_refused(run({vmatrace(), "report", trace, "--heatmap", tmp.path("same.svg")}), "is the trace being read");
  EXPECT_EQ(read_file(trace), before);
  EXPECT_EQ(names_in(tmp.path("")), (std::set<std::string>{"t.vmt", "same.svg"}));
}

TEST(OutputFiles, NewOutputsArePrivate) {
  REQUIRE_ROOT();
  TempDir tmp;
  auto trace = record_trace(tmp);
  umask(022);
  EXPECT_EQ(run({vmatrace(), "report", trace, "--heatmap", tmp.path("h.html"), "--perfetto", tmp.path("p.json")})
                .status,
            0);
  for (const auto& f : {trace, tmp.path("h.html"), tmp.path("p.json")})
    EXPECT_EQ(lstat_of(f).st_mode & 07777, 0600u) << f << " holds the target's address layout";
}

TEST(OutputFiles, AFailedWriteLeavesNothingHalfWritten) {
  REQUIRE_ROOT();
  TempDir tmp;
  auto trace = record_trace(tmp);
  std::string mnt = tmp.path("small");
  ASSERT_EQ(mkdir(mnt.c_str(), 0700), 0);
  // One page: a heatmap of tens of KiB cannot fit.
  ASSERT_EQ(run({"mount", "-t", "tmpfs", "-o", "size=4k", "tmpfs", mnt}).status, 0);
  auto heat = run({vmatrace(), "report", trace, "--heatmap", mnt + "/h.svg"});
  auto perfetto = run({vmatrace(), "report", trace, "--perfetto", mnt + "/p.json"});
  auto left = names_in(mnt);
  run({"umount", mnt});
  expect_refused(heat, "No space left on device");
  expect_refused(perfetto, "No space left on device");
  EXPECT_TRUE(left.empty()) << "left behind: " << *left.begin();
}

}  // namespace
}  // namespace e2e
