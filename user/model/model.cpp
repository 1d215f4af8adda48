#include "model/model.h"

#include <cstdio>

#include "events/abi.h"
#include "events/names.h"
#include "model/maps_format.h"
#include "model/predict.h"

namespace vmatrace {
namespace {

// Address spaces seeded from /proc text have no kernel mm pointer yet.
constexpr uint64_t kProcSeedMm = 1;

bool is_vsyscall(const MapsLine& m) { return m.name == "[vsyscall]"; }

// The parts of fresh inside bytes [first, last].
std::vector<Vma> clipped(const std::vector<Vma>& fresh, uint64_t first, uint64_t last) {
  std::vector<Vma> parts;
  for (const Vma& v : fresh) {
    if (v.info.end - 1 < first || v.info.start > last) continue;
    Vma part = v.info.start < first ? AddressSpace::upper_part(v, first) : v;
    if (part.info.end - 1 > last) part.info.end = last + 1;
    parts.push_back(std::move(part));
  }
  return parts;
}

// Calls that bring new memory into a range; the others only cut, merge or
// re-flag what was there.
bool maps_memory(uint16_t sc) {
  return sc == VT_SC_MMAP || sc == VT_SC_BRK || sc == VT_SC_MREMAP || sc == VT_SC_SHMAT;
}

// /proc/PID/maps shows only these vm_flags; the kernel's own records (a
// snapshot, bpf_find_vma) have them all.
constexpr uint64_t kProcShownFlags = kVmRead | kVmWrite | kVmExec | kVmMayShare;

// A VMA a /proc read shows just as the model has it (in all that the read
// can show) is the model's VMA: it keeps its fuller flags and its anonymous
// pgoff (maps prints 0), and so its lifetime.
void keep_what_proc_cannot_show(const AddressSpace& space, std::vector<Vma>* fresh) {
  for (auto& f : *fresh) {
    const Vma* had = space.find(f.info.start);
    if (!had) continue;
    const VmaInfo& o = had->info;
    if (o.start == f.info.start && o.end == f.info.end &&
        (o.flags & kProcShownFlags) == (f.info.flags & kProcShownFlags) && vma_offset(o) == vma_offset(f.info) &&
        o.ino == f.info.ino && o.dev == f.info.dev && o.path == f.info.path && o.path_flags == f.info.path_flags) {
      f.info.flags = o.flags;
      f.info.pgoff = o.pgoff;
    }
  }
}

}  // namespace

bool heap_label_is_strict(const std::string& release) {
  int major = 0, minor = 0;
  if (sscanf(release.c_str(), "%d.%d", &major, &minor) != 2) return true;
  return major > 6 || (major == 6 && minor >= 6);
}

Model::Model(const TraceMeta& meta)
    : t0_(meta.clock_monotonic_ns),
      heap_strict_(heap_label_is_strict(meta.kernel_release)),
      predict_(!meta.kernel_snapshots) {
  auto lines = parse_maps(meta.maps_at_attach);
  // Printed as the kernel prints it, whatever the header holds.
  for (const auto& m : parse_maps(meta.vsyscall_line))
    if (is_vsyscall(m)) vsyscall_line_ = format_maps_line(m.vma, m.name);
  for (const auto& m : lines)
    if (is_vsyscall(m)) vsyscall_line_ = format_maps_line(m.vma, m.name);
  for (const auto& u : meta.uncertain_at_start) uncertain_at_start_[u.pid] = u.reason;
  if (meta.maps_at_attach.empty() || meta.target_pid == 0) return;
  std::vector<Vma> seed;
  for (const auto& m : lines) {
    if (is_vsyscall(m)) continue;
    Vma v;
    v.info = m.vma;
    seed.push_back(std::move(v));
  }
  AddressSpace& space = space_for(meta.target_pid, kProcSeedMm);
  if (!replace(space, meta.target_pid, t0_, true, 0, ~0ULL, std::move(seed), {0, 0, VT_SNAP_SEED}))
    mark_uncertain(space, meta.target_pid, t0_, "the maps at attach are not a VMA set the kernel could show");
}

// Every change goes through here, so that the observer callbacks know whose,
// when, and whether it was there when tracing began.
bool Model::replace(AddressSpace& space, uint32_t pid, uint64_t ts, bool at_start, uint64_t lo, uint64_t hi,
                    std::vector<Vma> fresh, VmaOrigin why, uint64_t renew_lo, uint64_t renew_end) {
  cur_pid_ = pid;
  cur_ts_ = ts;
  cur_space_ = &space;
  cur_at_start_ = at_start;
  why.ns = rel(ts);
  cur_why_ = why;
  cur_renew_lo_ = renew_lo;
  cur_renew_end_ = renew_end;
  cur_removed_.clear();
  bool ok = space.replace(lo, hi, std::move(fresh), this, renew_lo, renew_end);
  cur_at_start_ = false;
  cur_renew_lo_ = cur_renew_end_ = 0;
  return ok;
}

// Without kernel snapshots, a child's VMAs are its parent's as the model has
// them (fork copies every VMA but VM_DONTCOPY ones), so that its first faults
// are charged and its copy-on-write is seen, until a resync says more.
void Model::inherit(AddressSpace& child, const Event& fork) {
  constexpr uint64_t kVmDontCopy = 0x20000;
  auto m = mm_of_pid_.find(fork.pid);
  if (m == mm_of_pid_.end() || m->second == fork.mm || !child.vmas().empty()) return;
  auto p = spaces_.find(m->second);
  if (p == spaces_.end()) return;
  const AddressSpace& parent = p->second;
  std::vector<Vma> copy;
  for (const auto& [start, v] : parent.vmas())
    if (!(v.info.flags & kVmDontCopy)) {
      Vma c;
      c.info = v.info;
      copy.push_back(std::move(c));
    }
  child.start_brk = parent.start_brk;
  child.brk = parent.brk;
  child.start_stack = parent.start_stack;
  child.brk_known = parent.brk_known;
  if (!copy.empty())
    replace(child, fork.child_pid, fork.ts, false, 0, ~0ULL, std::move(copy), {0, 0, VT_SNAP_FORK});
  if (parent.uncertain) mark_uncertain(child, fork.child_pid, fork.ts, "inherited from an uncertain parent");
}

void Model::mark_uncertain(AddressSpace& space, uint32_t pid, uint64_t ts, std::string reason) {
  if (space.uncertain) {  // already: it began then, or now if earlier (a loss told of afterwards)
    Uncertainty& u = stats_.uncertain[*space.uncertain];
    u.from_ns = std::min(u.from_ns, rel(ts));
    return;
  }
  space.uncertain = stats_.uncertain.size();
  stats_.uncertain.push_back({pid, rel(ts), std::nullopt, std::move(reason)});
  certain_.erase(&space);
  marked_lately_.push_back(&space);
}

void Model::mark_certain(AddressSpace& space, uint64_t ts) {
  if (!space.uncertain) return;
  stats_.uncertain[*space.uncertain].to_ns = rel(ts);
  space.uncertain.reset();
  certain_.insert(&space);
}

AddressSpace* Model::space_named(uint32_t pid, uint64_t mm) {
  if (mm) return &space_for(pid, mm);
  auto m = mm_of_pid_.find(pid);
  return m == mm_of_pid_.end() ? nullptr : &space_at(m->second, pid);
}

AddressSpace& Model::space_at(uint64_t mm, uint32_t pid) {
  auto [it, fresh] = spaces_.try_emplace(mm);
  if (fresh) {
    it->second.heap_strict = heap_strict_;
    it->second.pid = pid;
    certain_.insert(&it->second);
  }
  return it->second;
}

// A piece of a VMA that went (split by mprotect, munmap of a part, a MAP_FIXED
// in its middle) is the same memory; so is a merge back of pieces by a call
// that maps nothing. Anything else is new memory, made by this change.
VmaOrigin Model::origin_of(const VmaInfo& v) const {
  if (cur_renew_lo_ <= v.start && v.end <= cur_renew_end_) return cur_why_;
  const Gone* overlapping = nullptr;
  for (const Gone& g : cur_removed_) {
    if (g.start <= v.start && v.end <= g.end) return g.origin;
    if (!overlapping && g.start < v.end && v.start < g.end) overlapping = &g;
  }
  if (overlapping && !maps_memory(cur_why_.sc) && cur_why_.reason != VT_SNAP_EXEC) return overlapping->origin;
  return cur_why_;
}

AddressSpace& Model::space_for(uint32_t pid, uint64_t mm) {
  fault_space_ = nullptr;
  version_++;  // pid may move to another space
  auto& cur = mm_of_pid_[pid];
  if (cur == kProcSeedMm && mm != kProcSeedMm && !spaces_.count(mm)) {
    // The kernel's first word on a /proc-seeded space: same VMAs, real
    // identity. (Gone already if another process claimed it first.)
    if (auto node = spaces_.extract(kProcSeedMm)) {
      node.key() = mm;
      spaces_.insert(std::move(node));
    }
  }
  cur = mm;
  return space_at(mm, pid);
}

const AddressSpace* Model::space_of(uint32_t pid) const {
  auto m = mm_of_pid_.find(pid);
  if (m == mm_of_pid_.end()) return nullptr;
  auto s = spaces_.find(m->second);
  return s == spaces_.end() ? nullptr : &s->second;
}

std::string Model::maps_text(uint32_t pid) const {
  const AddressSpace* s = space_of(pid);
  if (!s) return "";
  std::string warning;
  if (s->uncertain) {
    const Uncertainty& u = stats_.uncertain[*s->uncertain];
    char from[32];
    snprintf(from, sizeof(from), "%.6f", static_cast<double>(u.from_ns) / 1e9);
    warning = std::string("# vmatrace: UNCERTAIN from ") + from + " s (" + u.reason +
              "): these lines may differ from the kernel's\n";
  }
  return warning + s->maps_text(vsyscall_line_);
}

void Model::removed(const Vma& v) {
  version_++;
  // A folded lifetime reads as a placeholder: its pieces' origin is unknown.
  cur_removed_.push_back({v.info.start, v.info.end, lifetimes_[v.lifetime].origin});
  end_lifetime(v, *cur_space_, cur_ts_);
}

void Model::end_lifetime(const Vma& v, const AddressSpace& space, uint64_t ts) {
  Lifetime* l = lifetimes_.find(v.lifetime);
  if (!l || l->ended_ns) return;  // ended with its process (and maybe folded since)
  l->info = v.info;
  l->name = space.name_of(v);
  l->ended_ns = rel(ts);
  lifetimes_.ended(v.lifetime);
}

void Model::added(Vma* v) {
  version_++;
  Lifetime l;
  l.pid = cur_pid_;
  l.info = v->info;  // the name is taken when it ends (or at report time)
  l.appeared_ns = rel(cur_ts_);
  l.at_start = cur_at_start_;
  l.origin = origin_of(v->info);
  v->lifetime = lifetimes_.add(std::move(l));
}

void Model::apply(const Event& e) {
  if (e.kind != Kind::Stats) note_time(e.ts);
  switch (e.kind) {
    case Kind::Vma:
      if (e.vma.reason == VT_VMA_SNAPSHOT)
        pending_[e.tid].push_back(e.vma);
      else if (predict_ && e.vma.reason == VT_VMA_MAPPED)
        mapped_[e.tid] = e.vma;
      return;
    case Kind::Syscall:
      if (predict_) apply_prediction(e);
      return;
    case Kind::Snapshot:
      apply_snapshot(e);
      return;
    case Kind::Fault:
      apply_fault(e);
      return;
    case Kind::Exec: {
      auto old = mm_of_pid_.find(e.pid);
      uint64_t old_mm = old == mm_of_pid_.end() ? 0 : old->second;
      cur_ts_ = e.ts;
      if (old_mm && old_mm != e.mm) {
        fault_space_ = nullptr;
        mm_of_pid_.erase(old);
        end_space(old_mm);
      }
      exited_.erase(e.pid);
      space_for(e.pid, e.mm);  // its VMAs come with the exec snapshot
      return;
    }
    case Kind::Fork:
      if (!(e.fork_flags & VT_FORK_THREAD) && e.mm) {
        AddressSpace& child = space_for(e.child_pid, e.mm);
        if (predict_) inherit(child, e);
      }
      return;
    case Kind::Exit:
      if (e.exit_flags & VT_EXIT_GROUP_DEAD) end_process(e.pid, e.ts);
      return;
    case Kind::Stats:
      apply_stats(e);
      return;
    default:
      return;
  }
}

// The VMAs stay, so that the maps of a process that exited can still be shown
// as they were at its end; their lifetimes end here.
void Model::end_process(uint32_t pid, uint64_t ts) {
  exited_[pid] = ts;
  auto m = mm_of_pid_.find(pid);
  if (m == mm_of_pid_.end()) return;
  for (const auto& [other, mm] : mm_of_pid_)
    if (other != pid && mm == m->second && !exited_.count(other)) return;
  auto s = spaces_.find(m->second);
  if (s == spaces_.end()) return;
  for (const auto& [start, v] : s->second.vmas()) end_lifetime(v, s->second, ts);
}

void Model::end_space(uint64_t mm) {
  fault_space_ = nullptr;
  for (const auto& [pid, m] : mm_of_pid_)
    if (m == mm) return;  // still used (vfork parent, another process)
  auto it = spaces_.find(mm);
  if (it == spaces_.end()) return;
  cur_space_ = &it->second;
  mark_certain(it->second, cur_ts_);  // nothing left to differ
  it->second.clear(this);
  certain_.erase(&it->second);
  marked_lately_.erase(std::remove(marked_lately_.begin(), marked_lately_.end(), &it->second), marked_lately_.end());
  spaces_.erase(it);
}

void Model::apply_snapshot(const Event& e) {
  // The thread's entry stays (cleared) so that its buffer is reused.
  std::vector<VmaInfo>& records = pending_[e.tid];
  // Records of an earlier snapshot of this thread whose closing record was
  // lost come first: this one's are the last e.count. (The loss itself is in
  // the lost counters, which mark every process; see apply_stats().)
  if (e.status == 0 && records.size() > e.count) {
    size_t orphans = records.size() - e.count;
    stats_.orphan_vma_records += orphans;
    records.erase(records.begin(), records.begin() + static_cast<long>(orphans));
  }
  // A /proc read that came before it in the stream but after it in time
  // already shows what it shows, and more: on a busy machine one thread's
  // snapshot can reach the ring after another's failed one was resynced.
  if (!is_resync(e.snap_reason)) {
    const AddressSpace* space = space_named(e.pid, e.mm);
    if (space && e.ts < space->resynced_at) {
      stats_.superseded++;
      records.clear();
      return;
    }
  }
  if (e.status != 0 || records.size() != e.count) {
    stats_.snapshots_failed++;
    stats_.orphan_vma_records += records.size();
    std::string why = e.status ? "a snapshot failed: " + errno_name(e.status)
                               : "a snapshot lost " + std::to_string(e.count - records.size()) + " of its " +
                                     std::to_string(e.count) + " VMA records";
    records.clear();
    if (AddressSpace* space = space_named(e.pid, e.mm)) mark_uncertain(*space, e.pid, e.ts, std::move(why));
    return;
  }
  std::vector<Vma> fresh(records.size());
  for (size_t i = 0; i < records.size(); i++) {
    fresh[i].info = std::move(records[i]);
    fresh[i].info.reason = 0;
  }
  records.clear();
  AddressSpace& space = space_for(e.pid, e.mm);
  if (!AddressSpace::well_formed(e.lo, e.hi, fresh)) {
    // /proc/PID/maps is read a page at a time: a read that raced with the
    // process's changes can show overlapping lines. Not the kernel's snapshots
    // failing, so not in their counter.
    if (is_resync(e.snap_reason)) {
      stats_.resyncs_malformed++;
      mark_uncertain(space, e.pid, e.ts, "a /proc read torn by the process's changes was left out");
    } else {
      stats_.snapshots_failed++;
      mark_uncertain(space, e.pid, e.ts, "a malformed snapshot was left out");
    }
    return;
  }
  if (is_resync(e.snap_reason)) {
    keep_what_proc_cannot_show(space, &fresh);
    stats_.resyncs++;
    if (e.snap_reason == kSnapResyncRacy) stats_.resyncs_during_changes++;
    space.resynced_at = std::max(space.resynced_at, e.ts);
  } else {
    stats_.snapshots++;
    space.start_brk = e.start_brk;
    space.brk = e.brk;
    space.start_stack = e.start_stack;
    space.brk_known = true;
  }
  uint16_t sc = e.snap_reason == VT_SNAP_SYSCALL ? e.sc : 0;
  // Only a syscall's snapshot has a time that says when it was walked: a
  // rotated file opens with the recorder's model as a seed stamped with the
  // rotation's time, which events of a little earlier can still follow.
  if (e.snap_reason == VT_SNAP_SYSCALL) {
    replace_where_newest(space, e, std::move(fresh), {0, sc, e.snap_reason});
  } else {
    replace(space, e.pid, e.ts, e.snap_reason == VT_SNAP_SEED, e.lo, e.hi, std::move(fresh), {0, sc, e.snap_reason});
  }
  // The whole set, as the kernel has it: unless it opens a file the recorder
  // began while unsure of it.
  if (e.lo == 0 && e.hi == UINT64_MAX && e.snap_reason != kSnapResyncRacy) {
    if (auto u = uncertain_at_start_.find(e.pid); u != uncertain_at_start_.end()) {
      mark_uncertain(space, e.pid, e.ts, u->second);
      uncertain_at_start_.erase(u);
    } else {
      mark_certain(space, e.ts);
    }
  }
}

// A kernel snapshot speaks for its range as it was at e.ts (taken before the
// walk, after the change), but not where a snapshot taken later has already
// spoken: there it is the older word (range_stamps.h).
void Model::replace_where_newest(AddressSpace& space, const Event& e, std::vector<Vma> fresh, VmaOrigin why) {
  const auto cover = AddressSpace::cover(e.lo, e.hi, fresh);
  const auto parts = space.snapshot_stamps.not_newer_than(cover.first, cover.second, e.ts);
  if (parts.size() == 1 && parts[0] == cover) {
    replace(space, e.pid, e.ts, false, e.lo, e.hi, std::move(fresh), why);
  } else {
    stats_.superseded++;
    for (const auto& [first, last] : parts)
      replace(space, e.pid, e.ts, false, first, last, clipped(fresh, first, last), why);
  }
  for (const auto& [first, last] : parts) space.snapshot_stamps.stamp(first, last, e.ts);
}

// Lost counters only grow. What grew since the last Stats record was lost
// after it, in processes the counters do not name: every process alive
// then is marked from that record on. Only losses that can leave the VMA
// set wrong count: with kernel snapshots, a snapshot lost whole or a change
// never snapshotted (a lost VMA record fails its snapshot, which says so
// itself); when predicting, any lost syscall, VMA or task event.
void Model::apply_stats(const Event& e) {
  static constexpr size_t kAlways[] = {VT_LOST_RINGBUF_SNAPSHOT, VT_LOST_SYSCALL_MAP_FULL,
                                        VT_LOST_SYSCALL_RETURN};
  static constexpr size_t kPredicting[] = {VT_LOST_RINGBUF_SYSCALL, VT_LOST_RINGBUF_VMA, VT_LOST_RINGBUF_TASK,
                                           VT_LOST_VMA_BUSY};
  auto count = [](const LostCounts& l, size_t r) { return r < l.by_reason.size() ? l.by_reason[r] : 0; };
  std::string what;
  auto check = [&](size_t r) {
    uint64_t now = count(e.lost, r), before = count(lost_, r);
    if (now > before) what += (what.empty() ? "" : ", ") + std::to_string(now - before) + " " + lost_reason_name(r);
  };
  for (size_t r : kAlways) check(r);
  if (predict_)
    for (size_t r : kPredicting) check(r);
  const uint64_t since = lost_since_;
  lost_ = e.lost;
  lost_since_ = e.ts ? e.ts : now_;  // the end record has no time of its own
  std::vector<AddressSpace*> lately;
  lately.swap(marked_lately_);
  if (what.empty()) return;
  // Marked since the last record: the loss may have come before.
  for (AddressSpace* s : lately)
    if (s->uncertain) mark_uncertain(*s, s->pid, since, "");
  // The others, by pid; those whose process ended before the loss stay as they were, for good.
  std::vector<AddressSpace*> others(certain_.begin(), certain_.end());
  std::sort(others.begin(), others.end(), [](auto* a, auto* b) { return a->pid < b->pid; });
  for (AddressSpace* s : others) {
    auto gone = exited_.find(s->pid);
    if (gone != exited_.end() && gone->second < since)
      certain_.erase(s);
    else
      mark_uncertain(*s, s->pid, since, "events lost: " + what);
  }
  marked_lately_.clear();  // all from `since` now: no later loss comes before it
}

std::optional<uint64_t> Model::lifetime_at(uint32_t pid, uint64_t addr) const {
  const AddressSpace* s = pid == fault_pid_ && fault_space_ ? fault_space_ : space_of(pid);
  const VmaSpan* at = s ? s->span_at(addr) : nullptr;
  if (!at) return std::nullopt;
  return at->lifetime;
}

void Model::apply_fault(const Event& e) {
  last_fault_vma_.reset();
  if (e.fault_flags & VT_FAULT_INCOMPLETE) return;
  // Faults come in runs from one process: remember its space between them.
  if (e.pid != fault_pid_ || !fault_space_) {
    auto m = mm_of_pid_.find(e.pid);
    if (m == mm_of_pid_.end()) {
      stats_.faults_unmapped++;
      return;
    }
    fault_pid_ = e.pid;
    fault_space_ = &space_at(m->second, e.pid);
  }
  AddressSpace& space = *fault_space_;
  const VmaSpan* at = space.span_at(e.addr);
  if (!at) {
    if (Vma* grown = space.grow_stack_to(e.addr)) {
      version_++;
      stats_.stack_growths++;
      if (Lifetime* l = lifetimes_.find(grown->lifetime)) l->info = grown->info;
      at = space.span_at(e.addr);
    }
  }
  if (!at) {
    stats_.faults_unmapped++;
    return;
  }
  stats_.faults_charged++;
  last_fault_vma_ = *at;
  Lifetime* l = lifetimes_.find(at->lifetime);
  if (!l) return;  // a VMA left from an exited process
  FaultStats& f = l->faults;
  (e.fault_flags & VT_FAULT_MAJOR) ? f.major++ : f.minor++;
  switch (access_of(e)) {
    case Access::Exec: f.exec++; break;
    case Access::Write: f.write++; break;
    case Access::Read: f.read++; break;
    case Access::Unknown: return;  // and no latency either
  }
  f.latency.add(e.latency_ns);
}

std::vector<Model::LiveProcess> Model::live_processes() const {
  std::vector<LiveProcess> out;
  for (const auto& [pid, mm] : mm_of_pid_) {
    if (exited_.count(pid)) continue;
    auto s = spaces_.find(mm);
    if (s != spaces_.end()) out.push_back({pid, mm, &s->second});
  }
  std::sort(out.begin(), out.end(), [](const LiveProcess& a, const LiveProcess& b) { return a.pid < b.pid; });
  return out;
}

uint64_t Model::mm_of(uint32_t pid) const {
  auto m = mm_of_pid_.find(pid);
  return m == mm_of_pid_.end() ? 0 : m->second;
}

void Model::apply_prediction(const Event& e) {
  auto m = mm_of_pid_.find(e.pid);
  if (m == mm_of_pid_.end()) return;
  AddressSpace& space = space_at(m->second, e.pid);
  auto mapped = mapped_.find(e.tid);
  if (e.ts < space.resynced_at) {  // the /proc read already shows it (see apply_snapshot)
    if (mapped != mapped_.end()) mapped_.erase(mapped);
    stats_.superseded++;
    return;
  }
  // The kernel's word on a new mapping (bpf_find_vma) beats a prediction.
  std::optional<Vma> truth;
  if (mapped != mapped_.end()) {
    uint64_t ret = static_cast<uint64_t>(e.ret);
    if (e.ret >= 0 && mapped->second.start <= ret && ret < mapped->second.end) {
      truth.emplace();
      truth->info = mapped->second;
      truth->info.reason = 0;
    }
    mapped_.erase(mapped);
  }
  // A mapping over one just like it (a /proc resync may have shown it first)
  // is still new memory; unless this mmap began before the last /proc read
  // ended, and what the read showed may be this very mapping.
  uint64_t new_lo = 0, new_end = 0;
  if (e.sc == VT_SC_MMAP && e.ret >= 0 && e.began_ns() > space.resynced_at) {
    new_lo = static_cast<uint64_t>(e.ret);
    new_end = new_lo + ((e.args[1] + 0xfff) & ~0xfffULL);
  }
  bool ok = true;
  const VmaOrigin why{0, e.sc, VT_SNAP_SYSCALL};
  if (!(truth && e.sc == VT_SC_MMAP))
    for (auto& p : predict(space, e))
      ok &= replace(space, e.pid, e.ts, false, p.lo, p.hi, std::move(p.fresh), why, new_lo, new_end);
  if (truth) {
    uint64_t lo = truth->info.start, hi = truth->info.end - 1;
    ok &= replace(space, e.pid, e.ts, false, lo, hi, {std::move(*truth)}, why, new_lo, new_end);
  }
  if (!ok) mark_uncertain(space, e.pid, e.ts, std::string("a malformed ") + syscall_name(e.sc) + " was left out");
}

void Model::refresh_open_names() {
  for (const auto& [mm, space] : spaces_)
    for (const auto& [start, v] : space.vmas()) {
      Lifetime* l = lifetimes_.find(v.lifetime);
      if (l && !l->ended_ns) {
        l->info = v.info;
        l->name = space.name_of(v);
      }
    }
}

}  // namespace vmatrace
