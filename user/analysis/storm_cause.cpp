#include "analysis/storm_cause.h"

#include "events/abi.h"
#include "model/maps_format.h"

namespace vmatrace {
namespace {

constexpr uint64_t kVmShared = 0x8;  // include/linux/mm.h: writes reach the object, no COW

// Shared anonymous memory is a shmem file to the kernel: /dev/zero (MAP_SHARED
// | MAP_ANONYMOUS), SysV segments, memfds. Its faults are an anonymous
// mapping's (zero-filled, swapped), not a disk file's.
bool shmem_backed(const VmaInfo& v) {
  if (!(v.path_flags & VT_PATH_DELETED)) return false;
  return v.path == "/dev/zero" || v.path.rfind("/SYSV", 0) == 0 || v.path.rfind("/memfd:", 0) == 0;
}

bool file_backed(const VmaInfo& v) { return (v.path_flags & VT_PATH_FILE) && !shmem_backed(v); }

}  // namespace

const char* cause_key(CauseKind k) {
  switch (k) {
    case CauseKind::FirstTouch: return "first_touch";
    case CauseKind::CowAfterFork: return "cow_after_fork";
    case CauseKind::PageCacheMiss: return "page_cache_miss";
    case CauseKind::SwapIn: return "swap_in";
    case CauseKind::ProtectionChange: return "protection_change";
    case CauseKind::CodePageIn: return "code_page_in";
    case CauseKind::FileCached: return "file_cached";
    case CauseKind::UnexplainedProtection: return "unexplained_protection";
    case CauseKind::NoErrorCode: return "no_error_code";
  }
  return "?";
}

const char* cause_title(CauseKind k) {
  switch (k) {
    case CauseKind::FirstTouch: return "first touch";
    case CauseKind::CowAfterFork: return "copy-on-write after fork";
    case CauseKind::PageCacheMiss: return "page-cache misses";
    case CauseKind::SwapIn: return "swap-ins";
    case CauseKind::ProtectionChange: return "protection changes";
    case CauseKind::CodePageIn: return "code page-in";
    case CauseKind::FileCached: return "cached file pages";
    case CauseKind::UnexplainedProtection: return "unexplained protection faults";
    case CauseKind::NoErrorCode: return "faults without error code";
  }
  return "?";
}

// The order matters: I/O first (a major fault's time went to the disk,
// whatever else is true), then what the process provably did to the page.
CauseKind classify(const FaultFacts& f) {
  if (f.major) return f.exec && f.file ? CauseKind::CodePageIn : f.file ? CauseKind::PageCacheMiss : CauseKind::SwapIn;
  if (f.refused_then_protected) return CauseKind::ProtectionChange;
  if (!f.error_code) return CauseKind::NoErrorCode;
  if (f.exec && f.file) return CauseKind::CodePageIn;
  if (!f.protection) return f.file ? CauseKind::FileCached : CauseKind::FirstTouch;
  // A present page: write protection, or an access the PTE does not allow.
  bool private_write = f.write && f.private_writable;
  if (private_write && f.forked) return CauseKind::CowAfterFork;
  if (f.protected_recently) return CauseKind::ProtectionChange;
  if (private_write && f.file) return CauseKind::FileCached;  // the page-cache page, copied (do_wp_page)
  if (private_write && f.read_before) return CauseKind::FirstTouch;  // the shared zero page, copied
  return CauseKind::UnexplainedProtection;
}

CauseClassifier::CauseClassifier(uint64_t t0, uint32_t target_pid, std::string target_command) : t0_(t0) {
  if (target_pid) processes_[target_pid].command = std::move(target_command);
}

const ProcessInfo* CauseClassifier::process(uint32_t pid) const {
  auto it = processes_.find(pid);
  return it == processes_.end() ? nullptr : &it->second;
}

std::optional<FaultCause> CauseClassifier::on_event(const Event& e, const Model& model, bool want_cause) {
  switch (e.kind) {
    case Kind::Exec: {
      // A new address space: nothing is shared with a fork any more.
      fault_proc_ = nullptr;
      ProcessInfo& p = processes_[e.pid];
      p.command = e.filename;
      p.last_fork.reset();
      protects_.erase(e.pid);
      read_pages_.forget(e.pid);
      return std::nullopt;
    }
    case Kind::Fork:
      on_fork(e, model);
      return std::nullopt;
    case Kind::Syscall:
      if ((e.sc == VT_SC_MPROTECT || e.sc == VT_SC_PKEY_MPROTECT) && e.ret == 0) on_protect(e);
      return std::nullopt;
    case Kind::Exit:
      unfinished_.erase(e.tid);
      if (e.exit_flags & VT_EXIT_GROUP_DEAD) {
        protects_.erase(e.pid);
        read_pages_.forget(e.pid);
      }
      return std::nullopt;
    case Kind::Fault:
      break;
    default:
      return std::nullopt;
  }
  if (e.fault_flags & VT_FAULT_INCOMPLETE) {
    // Refused (SIGSEGV, SIGBUS) or cut short: the BPF side reports it at the
    // thread's next fault entry, so a retried access comes right after it.
    // Faults in kernel mode (a BPF stack walk's own) are not the thread's.
    if (!(e.fault_flags & (VT_FAULT_KERNEL | VT_FAULT_NO_ENTRY)))
      unfinished_[e.tid] = {e.addr >> 12, rel(e.ts), e.error_code};
    return std::nullopt;
  }
  return on_complete_fault(e, model, want_cause);
}

void CauseClassifier::on_fork(const Event& e, const Model& model) {
  if (e.fork_flags & VT_FORK_THREAD) return;
  // The model has applied the fork: a child sharing its parent's space is a vfork.
  if (e.mm && e.mm == model.mm_of(e.pid)) return;
  fault_proc_ = nullptr;
  forks_.push_back({rel(e.ts), e.pid, e.child_pid});
  ProcessInfo& parent = processes_[e.pid];
  parent.last_fork = forks_.size() - 1;
  ProcessInfo& child = processes_[e.child_pid];
  child.command = parent.command;
  child.parent = e.pid;
  child.last_fork = forks_.size() - 1;
}

void CauseClassifier::on_protect(const Event& e) {
  ProtectCall c;
  c.ns = rel(e.ts);
  c.pid = e.pid;
  c.tid = e.tid;
  c.sc = e.sc;
  c.addr = e.args[0];
  c.len = e.args[1];
  c.prot = e.args[2];
  protects_.try_emplace(e.pid, kProtectWindowNs).first->second.add(c);
}

const ProcessInfo* CauseClassifier::process_of_fault(uint32_t pid) {
  if (pid != fault_pid_ || !fault_proc_) {
    fault_pid_ = pid;
    fault_proc_ = process(pid);
  }
  return fault_proc_;
}

// What an earlier unfinished fault of the thread says about this one, which
// settles it. Other faults may come between (the signal handler's stack):
// only a completion on the same page does.
CauseClassifier::Settled CauseClassifier::settle(const Event& e) {
  Settled out{!(e.fault_flags & VT_FAULT_NO_ENTRY), e.error_code, false};
  auto u = unfinished_.find(e.tid);
  if (u == unfinished_.end() || u->second.page != e.addr >> 12) return out;
  const uint64_t now = rel(e.ts);
  if (out.has_error_code) {
    out.retried = now >= u->second.ns && now - u->second.ns <= kProtectWindowNs;
  } else {
    // Its entry was cut short, e.g. by a nested kernel fault (the --stacks
    // stack walk of recorders before the walk's own faults were ignored):
    // the entry's error code is this fault's.
    out.has_error_code = true;
    out.error_code = u->second.error_code;
  }
  unfinished_.erase(u);
  return out;
}

std::optional<FaultCause> CauseClassifier::on_complete_fault(const Event& e, const Model& model, bool want_cause) {
  const Settled settled = unfinished_.empty() ? Settled{!(e.fault_flags & VT_FAULT_NO_ENTRY), e.error_code, false}
                                              : settle(e);
  const bool major = e.fault_flags & VT_FAULT_MAJOR;
  const uint16_t kinds = VT_PF_PROT | VT_PF_WRITE | VT_PF_INSTR;
  // A minor read of a page not present: remembered (anonymous memory only)
  // for a write that may copy the zero page later.
  const bool plain_read = settled.has_error_code && !major && !(settled.error_code & kinds);
  if (!want_cause && !plain_read) return std::nullopt;
  FaultFacts f;
  f.major = major;
  f.error_code = settled.has_error_code;
  if (f.error_code) {
    f.protection = settled.error_code & VT_PF_PROT;
    f.write = settled.error_code & VT_PF_WRITE;
    f.exec = settled.error_code & VT_PF_INSTR;
  }
  if (const auto& at = model.last_fault_vma()) {
    const VmaInfo& v = model.lifetimes()[at->lifetime].info;
    f.file = file_backed(v);
    f.private_writable = (v.flags & kVmWrite) && !(v.flags & kVmShared);
  }
  if (plain_read && !f.file) read_pages_.add(e.pid, e.addr);
  if (!want_cause) return std::nullopt;

  const uint64_t now = rel(e.ts);
  const ProcessInfo* proc = process_of_fault(e.pid);
  f.forked = proc && proc->last_fork;
  const ProtectCall* call = nullptr;
  if (settled.retried || f.protection) {
    auto protects = protects_.find(e.pid);
    if (protects != protects_.end()) call = protects->second.covering(e.addr, now);
  }
  f.refused_then_protected = settled.retried && call;
  f.protected_recently = f.protection && call;
  if (f.protection && f.write && !f.file) f.read_before = read_pages_.has(e.pid, e.addr);

  FaultCause c;
  c.kind = classify(f);
  if (c.kind == CauseKind::CowAfterFork) c.fork = proc->last_fork;
  if (c.kind == CauseKind::ProtectionChange) {
    c.call = call;
    c.refused = f.refused_then_protected;
  }
  c.after_read = c.kind == CauseKind::FirstTouch && f.protection;
  return c;
}

}  // namespace vmatrace
