#include "ring_poller.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <sys/mman.h>
#include <unistd.h>

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
  rb_ = ring_buffer__new(events_fd, &RingPoller::on_sample, this, nullptr);
  if (!rb_) throw bpf_error("ring_buffer__new", errno, "cannot open the ring buffer");
  bpf_map_info info{};
  uint32_t info_len = sizeof(info);
  page_ = size_t(sysconf(_SC_PAGESIZE));
  if (bpf_obj_get_info_by_fd(events_fd, &info, &info_len) == 0 && info.max_entries > 0) {
    void* m = mmap(nullptr, 2 * page_, PROT_READ, MAP_SHARED, events_fd, 0);
    if (m != MAP_FAILED) {
      pos_map_ = m;
      ring_size_ = info.max_entries;
      consumer_pos_ = static_cast<const volatile uint64_t*>(m);
      producer_pos_ = reinterpret_cast<const volatile uint64_t*>(static_cast<char*>(m) + page_);
    }
  }
}

void RingPoller::sample_fill() {
  if (!pos_map_) return;
  uint64_t pending = *producer_pos_ - *consumer_pos_;
  auto ppm = uint32_t(pending >= ring_size_ ? 1'000'000 : pending * 1'000'000 / ring_size_);
  uint32_t cur = fill_peak_ppm_.load(std::memory_order_relaxed);
  while (ppm > cur && !fill_peak_ppm_.compare_exchange_weak(cur, ppm, std::memory_order_relaxed)) {
  }
}

RingPoller::~RingPoller() {
  stop();
  if (rb_) ring_buffer__free(rb_);
  if (pos_map_) munmap(pos_map_, 2 * page_);
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

int RingPoller::on_sample(void* ctx, void* data, size_t len) {
  auto* self = static_cast<RingPoller*>(ctx);
  self->add(self->batch_, data, len);
  return 0;
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
  while (!stop_.load(std::memory_order_relaxed)) {
    // Producers submit without waking us until enough data is pending
    // (ar_wakeup_flags), so drain on every timeout too.
    int err = fail_poll ? -EBADF : ring_buffer__poll(rb_, poll_timeout_ms_);
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
    ring_buffer__consume(rb_);
    tick_(batch_);
    if (!batch_.empty() && (ready_() || mono_ns() - batch_started_ns_ >= kMaxBatchDelayNs)) flush();
  }
  ring_buffer__consume(rb_);
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
  return s;
}

}  // namespace agentrail
