#include "record/trace_output.h"

#include <sys/stat.h>

#include <algorithm>
#include <cstdio>

#include "util/output_file.h"

namespace vmatrace {

std::string flight_dump_name(const std::string& path, unsigned nth) {
  return nth <= 1 ? path : path + "." + std::to_string(nth);
}

Result<std::unique_ptr<TraceOutput>> TraceOutput::create(const TraceOutputOptions& opts, FileStartFn start,
                                                         std::unique_ptr<StormSignal> storms) {
  if (opts.trigger_storm && !storms) return make_error("--trigger storm without a storm detector");
  std::unique_ptr<TraceOutput> out(new TraceOutput(opts));
  out->storms_ = std::move(storms);
  if (opts.flight_ns) {
    // The storm's before-window and after-time both stay in the ring.
    uint64_t keep = opts.flight_ns + (opts.trigger_storm ? opts.after_ns : 0) + FlightRing::kChunkNs;
    out->ring_ = std::make_unique<FlightRing>(keep, std::move(start));
    // A path the first dump could not take fails now, not hours later.
    auto probe = OutputFile::open(opts.path);
    if (!probe) return make_error(probe.error());
    probe->discard();
    return out;
  }
  auto files = TraceFiles::create({opts.path, opts.max_size, opts.rotate}, std::move(start));
  if (!files) return make_error(files.error());
  out->files_ = std::move(*files);
  return out;
}

Status TraceOutput::begin(const TraceMeta& meta) { return files_ ? files_->write_header(meta) : Ok{}; }
Status TraceOutput::publish() { return files_ ? files_->publish() : Ok{}; }

Status TraceOutput::append(const Event& e) {
  if (files_) return files_->append(e);
  if (storms_) storms_->add(e);
  return ring_->append(e);
}

Status TraceOutput::flush(uint64_t now, const LostCounts& lost) {
  return files_ ? files_->flush() : ring_->tick(now, lost);
}

Status TraceOutput::dump(uint64_t from, uint64_t now, const LostCounts& lost, const char* trigger) {
  std::string name;
  struct stat st;
  // The next number whose name is free: a file there is not ours (ours are
  // numbered past it), and is left alone.
  for (int tries = 0; tries < 1000; tries++) {
    name = flight_dump_name(opts_.path, ++dumps_);
    if (dumps_ == 1 || lstat(name.c_str(), &st) != 0) break;
    fprintf(stderr, "vmatrace: %s exists and is not this recording's: the flight dump goes to the next name\n",
            name.c_str());
  }
  auto d = ring_->dump(name, from, now, lost, trigger, opts_.flight_ns / 1'000'000);
  if (!d) return make_error(d.error());
  struct stat written;
  if (stat(name.c_str(), &written) == 0) dump_bytes_ += static_cast<uint64_t>(written.st_size);
  last_dump_ = name;
  fprintf(stderr, "vmatrace: flight recorder (%s): %lu events written to %s\n", trigger,
          static_cast<unsigned long>(d->events), name.c_str());
  return Ok{};
}

Status TraceOutput::poll(uint64_t now, const LostCounts& lost) {
  if (!ring_) return Ok{};
  if (dump_armed_) {
    dump_armed_ = false;
    if (auto st = dump(now - std::min(now, opts_.flight_ns), now, lost, "SIGUSR1"); !st) return st;
  }
  if (dump_requested_) {
    dump_requested_ = false;
    dump_armed_ = true;
  }
  if (opts_.trigger_storm) {
    // One dump per storm: one overlapping the last (the rule may move its
    // edges as the baseline moves) only extends it.
    auto storm = storms_->latest_storm(now);
    if (storm && storm->start_ns > storm_covered_ && !storm_dump_at_) {
      storm_from_ = storm->start_ns - std::min(storm->start_ns, opts_.flight_ns);
      storm_dump_at_ = storm->start_ns + opts_.after_ns;
    }
    if (storm && (storm_dump_at_ || storm->start_ns <= storm_covered_))
      storm_covered_ = std::max(storm_covered_, storm->end_ns);
  }
  if (storm_dump_at_ && now >= *storm_dump_at_) {
    uint64_t from = *storm_from_;
    storm_dump_at_.reset();
    if (auto st = dump(from, now, lost, "storm"); !st) return st;
  }
  return Ok{};
}

Status TraceOutput::finish(uint64_t now, const LostCounts& lost) {
  if (files_) return files_->finish(lost, now);
  // A storm dump still waiting for its after-time is written now, short of it.
  if (storm_dump_at_) {
    uint64_t from = *storm_from_;
    storm_dump_at_.reset();
    if (auto st = dump(from, now, lost, "storm"); !st) return st;
  }
  return dump(now - std::min(now, opts_.flight_ns), now, lost, "exit");
}

void TraceOutput::discard() {
  if (files_) files_->discard();
}

std::string TraceOutput::written() const {
  char buf[512];
  if (files_) {
    snprintf(buf, sizeof(buf), "%s (%lu bytes%s)", files_->path().c_str(),
             static_cast<unsigned long>(files_->bytes_written()),
             files_->rotations() ? (", " + std::to_string(files_->rotations()) + " rotations").c_str() : "");
    std::string text = buf;
    if (files_->after_limit())  // they came after the end the limit set: said, not lost silently
      text += "; " + std::to_string(files_->after_limit()) + " events after --max-size were not written";
    return text;
  }
  snprintf(buf, sizeof(buf), "%u flight dumps, the last %s (%lu bytes in all)", dumps_, last_dump_.c_str(),
           static_cast<unsigned long>(dump_bytes_));
  return buf;
}

}  // namespace vmatrace
