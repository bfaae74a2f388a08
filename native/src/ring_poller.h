// The one poll thread: drains the shared ring buffer, shows every record to
// the observers, packs records into batches and hands each batch to a
// non-blocking delivery function. Never blocks the kernel side: when delivery
// refuses (JS is behind), the batch is dropped and counted.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <future>
#include <thread>
#include <vector>

#include "batch.h"
#include "record_observer.h"
#include "ring_reader.h"

namespace agentrail {

class RingPoller {
 public:
  // Takes ownership of `data` (malloc'd) when it returns true; when it
  // returns false the poller frees it and counts the batch as dropped.
  using Deliver = std::function<bool(uint8_t* data, size_t len, size_t records)>;
  // Runs on the poll thread after each poll round; may append records.
  using Tick = std::function<void(Batch& batch)>;
  // Runs once on the poll thread before the first poll.
  using Begin = std::function<void()>;
  // True when the consumer has nothing in flight: a partial batch is then
  // handed over at once; otherwise records keep accumulating (adaptive
  // batching: the slower JS is, the larger its batches) up to max_delay.
  using Ready = std::function<bool()>;

  struct Stats {
    uint64_t records = 0;           // records taken from the ring buffer or synthesized
    uint64_t batches_delivered = 0;
    uint64_t batches_dropped = 0;   // JS could not keep up (queue full)
    uint64_t records_dropped = 0;   // records inside dropped batches
    uint64_t poll_errors = 0;       // ring wait (epoll) failures (retried)
    int poll_fatal_errno = 0;       // set when polling gave up: the sensor is blind
    uint64_t bytes_delivered = 0;
    double ring_fill_peak = 0;      // highest fill (0..1) seen since the previous stats() call
    uint64_t ring_wrapped = 0;      // records that wrapped the ring's end (joined by a copy)
    uint64_t heap_trims = 0;        // malloc_trim calls that gave pages back
  };

  RingPoller(int events_fd, size_t batch_records, size_t batch_bytes, int poll_timeout_ms, Deliver deliver, Ready ready,
             Begin begin, Tick tick, std::vector<RecordObserver*> observers);
  ~RingPoller();
  RingPoller(const RingPoller&) = delete;
  RingPoller& operator=(const RingPoller&) = delete;

  void start();
  void stop();  // drains what is left, then joins
  Stats stats();
  // Appends a synthesized record (poll thread only, from Tick).
  void add(Batch& b, const void* data, size_t len);

 private:
  static void on_sample(void* ctx, const void* data, size_t len);
  void run(std::promise<void>& begun);
  void flush();

  void sample_fill();

  std::unique_ptr<RingReader> ring_;
  std::atomic<uint32_t> fill_peak_ppm_{0};
  size_t batch_records_;
  size_t batch_bytes_;
  int poll_timeout_ms_;
  Deliver deliver_;
  Ready ready_;
  Begin begin_;
  Tick tick_;
  std::vector<RecordObserver*> observers_;
  Batch batch_;
  std::thread thread_;
  uint64_t batch_started_ns_ = 0;  // when the oldest record of batch_ was added
  std::atomic<bool> stop_{false};
  std::atomic<uint64_t> records_{0}, batches_delivered_{0}, batches_dropped_{0}, records_dropped_{0}, bytes_delivered_{0};
  std::atomic<uint64_t> poll_errors_{0}, heap_trims_{0};
  std::atomic<int> poll_fatal_errno_{0};
};

}  // namespace agentrail
