// The live event source: the BPF session and its decoder, attached to a
// running process (-p) or to a command started under tracing (--). Beside
// the kernel's records it puts into the stream what /proc says where the
// kernel could not (names, VMA sets: resync) and the sampled stacks.
#pragma once

#include <sys/types.h>

#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <unordered_set>
#include <vector>

#include "bpf/features.h"
#include "bpf/session.h"
#include "pipeline/sink.h"
#include "record/target.h"

namespace vmatrace {

class Model;

struct LiveSourceOptions {
  pid_t pid = 0;                     // a running process, or
  std::vector<std::string> command;  // a command to run
  double duration_s = 0;             // 0: until the target exits or a signal
  bool follow_children = false;
  // Measured (2 vCPUs under load): 1 MiB already loses nothing on a 1 GiB
  // fault storm, a syscall storm or stacks on every fault; but four threads
  // churning their VMAs, attached midway, lost snapshots at 4 MiB; 8 MiB
  // holds them. The ring counts twice in RSS (the kernel maps its pages
  // twice): an idle recording is ~29 MB with 8 MiB, ~45 MB with 16.
  size_t ringbuf_mb = 8;
  std::vector<std::string> without;  // optional kernel features to act as if missing
  bool resync = true;                // re-read /proc/PID/maps where the kernel gives no snapshot
  uint32_t stack_every = 0;          // a user stack every Nth fault
  bool mmap_lock_hook = false;       // syscalls caught at the mmap_lock (SessionOptions)
};

class LiveSource final : public EventSource {
 public:
  // Probes the kernel and checks a running target: nothing is attached yet.
  static Result<std::unique_ptr<LiveSource>> prepare(const LiveSourceOptions& opts);
  // Loads the programs and attaches, or spawns the command held before its
  // exec; the header (meta()) is known after it. Prints the degradations.
  Status start();
  const TraceMeta& meta() const override { return meta_; }
  // The model resync's snapshots name the address space of.
  void use_model(const Model* model) { model_ = model; }
  // Lets the command run: call once the sinks began.
  Status release();
  Status run(Sink& sink) override;

  LostCounts lost() const;
  // Detaches the programs: nothing more comes.
  void detach() { session_.reset(); }
  // Setup or tracing failed: the command must never run.
  void abort_command();
  uint64_t malformed() const { return malformed_; }
  uint64_t t0() const { return meta_.clock_monotonic_ns; }
  // The process exit code: the command's own, else 0.
  int exit_code();

 private:
  explicit LiveSource(const LiveSourceOptions& opts) : opts_(opts) {}
  void on_record(const void* data, size_t size);
  // To the sink, in order with the /proc reads in flight (see resync_due()).
  void emit(const Event& e);
  void deliver(const Event& e);
  enum class Resync { None, Now, AtPoll };
  Resync resync_need(const Event& e) const;
  // What /proc/PID/maps showed, read between from_ts and to_ts.
  struct ProcRead {
    uint32_t pid = 0, tid = 0;
    uint64_t from_ts = 0, to_ts = 0;
    std::string maps;
    bool clean = true;  // no change of the process during the read
  };
  std::optional<ProcRead> read_proc(uint32_t pid, uint32_t tid) const;
  // ts: the moment the read VMAs stand for; reason: kSnapResync or kSnapResyncRacy.
  void emit_resync(const ProcRead& r, uint64_t ts, uint16_t reason);
  // Puts what the kernel lost since last told into the stream (a Stats
  // record, which the model marks uncertain from).
  void report_losses(const Tick& t);
  // Asks for a repair of each live process the model marks uncertain.
  void repair_uncertain(uint64_t now_ns);
  // After each poll: losses into the stream, the repairs asked for, the
  // sinks' heartbeat, the due /proc reads.
  Status tick_and_resync(const Tick& t);
  Status resync_due();
  Status drain_past_reads();
  void settle_oldest_read();
  void write_due_stacks();
  Status drain_rest();
  TraceMeta make_meta() const;

  LiveSourceOptions opts_;
  Features features_;
  std::unique_ptr<BpfSession> session_;
  std::optional<GatedChild> child_;
  uint64_t released_ns_ = 0;  // when the command was let go
  pid_t target_ = 0;
  std::string maps_at_attach_;
  TraceMeta meta_;
  uint64_t t0_ = 0, realtime0_ = 0;
  const Model* model_ = nullptr;
  Sink* sink_ = nullptr;  // during run()
  std::unordered_set<int32_t> stacks_written_;
  std::vector<int32_t> stacks_due_;
  std::map<uint32_t, uint32_t> resync_due_;  // pid -> the thread whose change asked for it
  std::deque<ProcRead> reads_;                // read, not yet sent; oldest first
  std::vector<Event> held_;                   // made after reads_.front() ended
  // Uncertain: a read overlapping changes will do; when one was last applied.
  std::map<uint32_t, uint64_t> repairing_;
  LostCounts lost_told_;                      // as of the last Stats record sent
  uint64_t lost_told_ns_ = 0;                 // its time
  uint64_t seeded_ns_ = 0;                    // when kernel snapshots were last asked for
  uint64_t malformed_ = 0;
  bool target_exited_ = false;
};

}  // namespace vmatrace
