#include "ring_poller.h"

#include <malloc.h>

#include <cerrno>
#include <cstdlib>
#include <chrono>
#include <future>
#include <string>
#include <ctime>

#include "errors.h"

namespace agentrail {

namespace {
uint64_t mono_ns() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return uint64_t(ts.tv_sec) * 1000000000ull + uint64_t(ts.tv_nsec);
}
constexpr uint64_t kMaxBatchDelayNs = 20'000'000;  // a partial batch waits at most 20 ms for JS
// Every batch is malloc'd here and freed on the JS thread, and loading and
// attaching (BTF, ELF scans, disassembly) free megabytes at start: glibc keeps
// freed pages of its arenas resident. Handing them back every 10 s kept ~6 MB
// of RSS off an idle sensor (docs/performance.md, bench/footprint).
constexpr uint64_t kTrimIntervalNs = 10'000'000'000;
}  // namespace


RingPoller::RingPoller(int events_fd, size_t batch_records, size_t batch_bytes, int poll_timeout_ms, Deliver deliver,
                       Ready ready, Begin begin, Tick tick, std::vector<RecordObserver*> observers)
    : batch_records_(batch_records),
      batch_bytes_(batch_bytes),
      poll_timeout_ms_(poll_timeout_ms),
      deliver_(std::move(deliver)),
      ready_(std::move(ready)),
      begin_(std::move(begin)),
      tick_(std::move(tick)),
      observers_(std::move(observers)),
      batch_(batch_bytes < 65536 ? batch_bytes : 65536) {
  ring_ = std::make_unique<RingReader>(events_fd);
}

void RingPoller::sample_fill() {
  uint64_t pending = ring_->pending();
  uint64_t size = ring_->size();
  auto ppm = uint32_t(pending >= size ? 1'000'000 : pending * 1'000'000 / size);
  uint32_t cur = fill_peak_ppm_.load(std::memory_order_relaxed);
  while (ppm > cur && !fill_peak_ppm_.compare_exchange_weak(cur, ppm, std::memory_order_relaxed)) {
  }
}

RingPoller::~RingPoller() {
  stop();
}

// Returns once the observers' on_start has run (TLS libraries present at start
// are attached), so a command launched stopped by `agentrail run -- CMD` is
// resumed only when its first TLS call can be captured.
void RingPoller::start() {
  stop_ = false;
  std::promise<void> begun;
  std::future<void> ready = begun.get_future();
  thread_ = std::thread([this, p = std::move(begun)]() mutable { run(p); });
  ready.wait();
}

void RingPoller::stop() {
  stop_ = true;
  if (thread_.joinable()) thread_.join();
}

void RingPoller::on_sample(void* ctx, const void* data, size_t len) {
  auto* self = static_cast<RingPoller*>(ctx);
  self->add(self->batch_, data, len);
}

void RingPoller::add(Batch& b, const void* data, size_t len) {
  if (len < sizeof(ar_hdr)) return;
  const auto* hdr = static_cast<const ar_hdr*>(data);
  for (RecordObserver* o : observers_) o->on_record(hdr, len);
  if (&b == &batch_ && b.empty()) batch_started_ns_ = mono_ns();
  b.append(data, len);
  records_.fetch_add(1, std::memory_order_relaxed);
  if (&b == &batch_ && (b.records() >= batch_records_ || b.size() >= batch_bytes_)) flush();
}

void RingPoller::flush() {
  if (batch_.empty()) return;
  size_t len = batch_.size();
  size_t n = batch_.records();
  uint8_t* data = batch_.release();
  if (deliver_(data, len, n)) {
    batches_delivered_.fetch_add(1, std::memory_order_relaxed);
    bytes_delivered_.fetch_add(len, std::memory_order_relaxed);
  } else {
    std::free(data);
    batches_dropped_.fetch_add(1, std::memory_order_relaxed);
    records_dropped_.fetch_add(n, std::memory_order_relaxed);
  }
}

void RingPoller::run(std::promise<void>& begun) {
  try {
    begin_();
  } catch (...) {
    // An observer failing at start must not keep start() waiting.
  }
  begun.set_value();
  // A failing poll is retried for about a second, then the loop gives up and
  // says so (poll_fatal_errno): JS marks the sensor not ready, logs one line
  // and exits non-zero. It never just stops delivering.
  // AGENTRAIL_FAILPOINT=ring_poll injects the failure, for the tests.
  const char* fp = std::getenv("AGENTRAIL_FAILPOINT");
  const bool fail_poll = fp && std::string(fp) == "ring_poll";
  int consecutive = 0;
  uint64_t last_trim_ns = 0;
  while (!stop_.load(std::memory_order_relaxed)) {
    uint64_t now = mono_ns();
    if (now - last_trim_ns >= kTrimIntervalNs) {
      last_trim_ns = now;
      if (malloc_trim(0)) heap_trims_.fetch_add(1, std::memory_order_relaxed);
    }
    // Producers submit without waking us until enough data is pending
    // (ar_wakeup_flags), so drain on every timeout too.
    int err = fail_poll ? -EBADF : ring_->wait(poll_timeout_ms_);
    if (err < 0 && err != -EINTR) {
      poll_errors_.fetch_add(1, std::memory_order_relaxed);
      if (++consecutive >= 20) {
        poll_fatal_errno_.store(-err);
        break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
      continue;
    }
    consecutive = 0;
    sample_fill();
    ring_->consume(&RingPoller::on_sample, this);
    tick_(batch_);
    if (!batch_.empty() && (ready_() || mono_ns() - batch_started_ns_ >= kMaxBatchDelayNs)) flush();
  }
  ring_->consume(&RingPoller::on_sample, this);
  tick_(batch_);
  flush();
  for (RecordObserver* o : observers_) o->on_stop();
}

RingPoller::Stats RingPoller::stats() {
  Stats s;
  s.ring_fill_peak = fill_peak_ppm_.exchange(0, std::memory_order_relaxed) / 1e6;
  s.records = records_.load();
  s.batches_delivered = batches_delivered_.load();
  s.batches_dropped = batches_dropped_.load();
  s.records_dropped = records_dropped_.load();
  s.bytes_delivered = bytes_delivered_.load();
  s.poll_errors = poll_errors_.load();
  s.poll_fatal_errno = poll_fatal_errno_.load();
  s.ring_wrapped = ring_->wrapped();
  s.heap_trims = heap_trims_.load(std::memory_order_relaxed);
  return s;
}

}  // namespace agentrail
