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

// Calls that bring new memory into a range; the others only cut, merge or
// re-flag what was there.
bool maps_memory(uint16_t sc) {
  return sc == VT_SC_MMAP || sc == VT_SC_BRK || sc == VT_SC_MREMAP || sc == VT_SC_SHMAT;
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
  for (const auto& m : lines)
    if (is_vsyscall(m)) vsyscall_line_ = format_maps_line(m.vma, m.name);
  if (vsyscall_line_.empty()) vsyscall_line_ = meta.vsyscall_line;
  if (meta.maps_at_attach.empty() || meta.target_pid == 0) return;
  std::vector<Vma> seed;
  for (const auto& m : lines) {
    if (is_vsyscall(m)) continue;
    Vma v;
    v.info = m.vma;
    seed.push_back(std::move(v));
  }
  replace(space_for(meta.target_pid, kProcSeedMm), meta.target_pid, t0_, true, 0, ~0ULL, std::move(seed),
          {0, 0, VT_SNAP_SEED});
}

// Every change goes through here, so that the observer callbacks know whose,
// when, and whether it was there when tracing began.
void Model::replace(AddressSpace& space, uint32_t pid, uint64_t ts, bool at_start, uint64_t lo, uint64_t hi,
                    std::vector<Vma> fresh, VmaOrigin why) {
  cur_pid_ = pid;
  cur_ts_ = ts;
  cur_space_ = &space;
  cur_at_start_ = at_start;
  why.ns = rel(ts);
  cur_why_ = why;
  cur_removed_.clear();
  space.replace(lo, hi, std::move(fresh), this);
  cur_at_start_ = false;
}

// A piece of a VMA that went (split by mprotect, munmap of a part, a MAP_FIXED
// in its middle) is the same memory; so is a merge back of pieces by a call
// that maps nothing. Anything else is new memory, made by this change.
VmaOrigin Model::origin_of(const VmaInfo& v) const {
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
    // The kernel's first word on a /proc-seeded space: same VMAs, real identity.
    auto node = spaces_.extract(kProcSeedMm);
    node.key() = mm;
    spaces_.insert(std::move(node));
  }
  cur = mm;
  auto [it, fresh] = spaces_.try_emplace(mm);
  if (fresh) it->second.heap_strict = heap_strict_;
  return it->second;
}

const AddressSpace* Model::space_of(uint32_t pid) const {
  auto m = mm_of_pid_.find(pid);
  if (m == mm_of_pid_.end()) return nullptr;
  auto s = spaces_.find(m->second);
  return s == spaces_.end() ? nullptr : &s->second;
}

std::string Model::maps_text(uint32_t pid) const {
  const AddressSpace* s = space_of(pid);
  return s ? s->maps_text(vsyscall_line_) : "";
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
      if (!(e.fork_flags & VT_FORK_THREAD) && e.mm) space_for(e.child_pid, e.mm);
      return;
    case Kind::Exit:
      if (e.exit_flags & VT_EXIT_GROUP_DEAD) end_process(e.pid, e.ts);
      return;
    default:
      return;
  }
}

// The VMAs stay, so that the maps of a process that exited can still be shown
// as they were at its end; their lifetimes end here.
void Model::end_process(uint32_t pid, uint64_t ts) {
  exited_[pid] = true;
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
  it->second.clear(this);
  spaces_.erase(it);
}

void Model::apply_snapshot(const Event& e) {
  // The thread's entry stays (cleared) so that its buffer is reused.
  std::vector<VmaInfo>& records = pending_[e.tid];
  if (e.status != 0 || records.size() != e.count) {
    stats_.snapshots_failed++;
    stats_.orphan_vma_records += records.size();
    records.clear();
    return;
  }
  e.snap_reason == kSnapResync ? stats_.resyncs++ : stats_.snapshots++;
  AddressSpace& space = space_for(e.pid, e.mm);
  if (e.snap_reason != kSnapResync) {
    space.start_brk = e.start_brk;
    space.brk = e.brk;
    space.start_stack = e.start_stack;
    space.brk_known = true;
  }
  std::vector<Vma> fresh(records.size());
  for (size_t i = 0; i < records.size(); i++) {
    fresh[i].info = std::move(records[i]);
    fresh[i].info.reason = 0;
  }
  records.clear();
  uint16_t sc = e.snap_reason == VT_SNAP_SYSCALL ? e.sc : 0;
  replace(space, e.pid, e.ts, e.snap_reason == VT_SNAP_SEED, e.lo, e.hi, std::move(fresh), {0, sc, e.snap_reason});
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
    fault_space_ = &spaces_[m->second];
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

uint64_t Model::mm_of(uint32_t pid) const {
  auto m = mm_of_pid_.find(pid);
  return m == mm_of_pid_.end() ? 0 : m->second;
}

void Model::apply_prediction(const Event& e) {
  auto m = mm_of_pid_.find(e.pid);
  if (m == mm_of_pid_.end()) return;
  AddressSpace& space = spaces_[m->second];
  // The kernel's word on a new mapping (bpf_find_vma) beats a prediction.
  std::optional<Vma> truth;
  auto mapped = mapped_.find(e.tid);
  if (mapped != mapped_.end()) {
    uint64_t ret = static_cast<uint64_t>(e.ret);
    if (e.ret >= 0 && mapped->second.start <= ret && ret < mapped->second.end) {
      truth.emplace();
      truth->info = mapped->second;
      truth->info.reason = 0;
    }
    mapped_.erase(mapped);
  }
  if (!(truth && e.sc == VT_SC_MMAP))
    for (auto& p : predict(space, e))
      replace(space, e.pid, e.ts, false, p.lo, p.hi, std::move(p.fresh), {0, e.sc, VT_SNAP_SYSCALL});
  if (truth) {
    uint64_t lo = truth->info.start, hi = truth->info.end - 1;
    replace(space, e.pid, e.ts, false, lo, hi, {std::move(*truth)}, {0, e.sc, VT_SNAP_SYSCALL});
  }
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
