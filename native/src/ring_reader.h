// The consumer side of a BPF ring buffer map (BPF_MAP_TYPE_RINGBUF), with the
// data area mapped once. libbpf's ring_buffer maps the data pages twice, back
// to back, so that a record wrapping the end reads contiguously: the kernel
// populates the whole mapping at mmap, so a 16 MiB ring showed as 32 MiB of
// RSS (bench/footprint). The poller copies every record into a batch anyway;
// here the rare record that wraps is copied into a scratch buffer first.
// Protocol as the kernel defines it (kernel/bpf/ringbuf.c, uapi bpf.h): an
// 8-byte header (u32 length with BUSY/DISCARD bits, u32 page offset) before
// each 8-byte aligned record; producer/consumer positions grow without wrap.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <vector>

namespace agentrail {

class RingReader {
 public:
  // Called for each committed, not discarded record; `data` is valid only
  // during the call.
  using Sample = void (*)(void* ctx, const void* data, size_t len);

  explicit RingReader(int map_fd);  // throws SensorError (errors.h)
  ~RingReader();
  RingReader(const RingReader&) = delete;
  RingReader& operator=(const RingReader&) = delete;

  // Waits up to timeout_ms for the kernel's wakeup: > 0 woken, 0 timed out,
  // < 0 a negative errno.
  int wait(int timeout_ms);
  // Hands every committed record to `cb`, advancing the consumer position
  // after each; stops at a record still being written. Returns the count.
  uint64_t consume(Sample cb, void* ctx);

  uint64_t size() const { return size_; }
  // Bytes written by the producers and not consumed yet.
  uint64_t pending() const;
  // Records that wrapped the end of the data area (copied once more); any thread.
  uint64_t wrapped() const { return wrapped_.load(std::memory_order_relaxed); }

 private:
  void release();
  int epoll_fd_ = -1;
  size_t page_ = 0;
  uint64_t size_ = 0;
  uint64_t mask_ = 0;
  void* consumer_map_ = nullptr;   // rw: the consumer position page
  void* data_map_ = nullptr;       // ro: the producer position page, then the data once
  size_t data_map_len_ = 0;
  uint64_t* consumer_pos_ = nullptr;
  const uint64_t* producer_pos_ = nullptr;
  const uint8_t* data_ = nullptr;
  std::vector<uint8_t> scratch_;
  std::atomic<uint64_t> wrapped_{0};  // written by the consuming thread only
};

}  // namespace agentrail
