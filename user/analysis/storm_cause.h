// Why a fault happened, from the events alone: its x86 error code, minor or
// major, the VMA it hit (file or anonymous, private writable, executable) and
// what its process did before — forked or was forked, an mprotect over the
// page, an access refused and retried, a read of the page before the write.
// The rules are in classify(); the README lists them with their thresholds.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "analysis/fault_history.h"
#include "events/event.h"
#include "model/model.h"

namespace vmatrace {

enum class CauseKind : uint8_t {
  FirstTouch,             // not present, minor, anonymous memory: zero-filled
  CowAfterFork,           // write on a present page of private writable memory after a fork
  PageCacheMiss,          // major, file mapping: read from disk
  SwapIn,                 // major, anonymous memory
  ProtectionChange,       // an mprotect over the page just before
  CodePageIn,             // instruction fetch from a file mapping
  FileCached,             // minor on a file mapping: a page-cache page mapped in
  UnexplainedProtection,  // present page, no fork, no mprotect: NUMA, userfaultfd, KSM...
  NoErrorCode,            // minor, without the entry tracepoint: access unknown
};
constexpr size_t kCauseKinds = 9;

const char* cause_key(CauseKind k);    // for JSON: "cow_after_fork"
const char* cause_title(CauseKind k);  // for people: "copy-on-write after fork"

// "Just before": how long an mprotect explains faults on its pages.
constexpr uint64_t kProtectWindowNs = 100'000'000;

// What is known about one completed fault.
struct FaultFacts {
  bool major = false;
  bool error_code = true;  // the entry tracepoint saw it: the bits below are known
  bool protection = false, write = false, exec = false;
  bool file = false;              // file-backed (shared anonymous memory is not)
  bool private_writable = false;  // VM_WRITE without VM_SHARED
  bool forked = false;            // its process forked, or was forked, since its exec
  bool refused_then_protected = false;  // the same access was refused, then an mprotect covered the page
  bool protected_recently = false;      // an mprotect covered the page within kProtectWindowNs
  bool read_before = false;             // anonymous page whose first fault was a read
};

CauseKind classify(const FaultFacts& f);

// A fork between two processes (not a thread, not vfork).
struct ForkRecord {
  uint64_t ns = 0;  // since trace start
  uint32_t parent = 0, child = 0;
};

// A process as the storms name it.
struct ProcessInfo {
  std::string command;  // exec'd file, or the target's command line
  uint32_t parent = 0;  // 0: not seen (the target, or attached to)
  std::optional<size_t> last_fork;  // its latest fork (either side) since exec: index into forks()
};

// A completed fault's cause and the piece of evidence behind it.
struct FaultCause {
  CauseKind kind = CauseKind::NoErrorCode;
  std::optional<size_t> fork;           // CowAfterFork: index into forks()
  const ProtectCall* call = nullptr;    // ProtectionChange: the mprotect over the page (until the next event)
  bool refused = false;     // ProtectionChange: the access was refused first
  bool after_read = false;  // FirstTouch: a write to a page first read (the zero page copied)
};

// Follows every event of a trace (after the model applied it) and says why
// each completed fault happened.
class CauseClassifier {
 public:
  // t0: the trace's clock base (times are kept relative to it).
  CauseClassifier(uint64_t t0, uint32_t target_pid, std::string target_command);

  // Learns from e; for a completed fault, returns its cause if wanted (the
  // work is only done for faults that matter, the history for all).
  std::optional<FaultCause> on_event(const Event& e, const Model& model, bool want_cause = true);

  const ProcessInfo* process(uint32_t pid) const;
  const std::vector<ForkRecord>& forks() const { return forks_; }

 private:
  void on_fork(const Event& e, const Model& model);
  void on_protect(const Event& e);
  struct Settled {
    bool has_error_code;
    uint16_t error_code;
    bool retried;  // the same access was refused just before
  };
  Settled settle(const Event& e);
  std::optional<FaultCause> on_complete_fault(const Event& e, const Model& model, bool want_cause);
  const ProcessInfo* process_of_fault(uint32_t pid);
  uint64_t rel(uint64_t ts) const { return ts > t0_ ? ts - t0_ : 0; }

  uint64_t t0_;
  std::unordered_map<uint32_t, ProcessInfo> processes_;
  std::unordered_map<uint32_t, RecentProtects> protects_;  // by pid
  struct Unfinished {
    uint64_t page, ns;
    uint16_t error_code;
  };
  std::unordered_map<uint32_t, Unfinished> unfinished_;  // by tid: its last user fault that did not complete
  ReadPages read_pages_;
  std::vector<ForkRecord> forks_;
  // process_of_fault()'s last answer: faults come in runs from one process.
  uint32_t fault_pid_ = 0;
  const ProcessInfo* fault_proc_ = nullptr;
};

}  // namespace vmatrace
