#include "ring_reader.h"

#include <bpf/bpf.h>
#include <linux/bpf.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "errors.h"

namespace agentrail {

namespace {
// Record length in the ring: header + payload, 8-byte aligned (the BUSY and
// DISCARD bits cleared).
inline uint64_t ring_len(uint32_t len) {
  len &= ~(BPF_RINGBUF_BUSY_BIT | BPF_RINGBUF_DISCARD_BIT);
  return (uint64_t(len) + BPF_RINGBUF_HDR_SZ + 7) & ~uint64_t(7);
}
}  // namespace

RingReader::RingReader(int map_fd) {
  bpf_map_info info{};
  uint32_t info_len = sizeof(info);
  if (bpf_obj_get_info_by_fd(map_fd, &info, &info_len) != 0) throw bpf_error("ring buffer info", errno, "cannot read the ring buffer map");
  if (info.type != BPF_MAP_TYPE_RINGBUF || info.max_entries == 0 || (info.max_entries & (info.max_entries - 1)) != 0)
    throw bpf_error("ring buffer info", EINVAL, "the events map is not a ring buffer of a power-of-two size");
  page_ = size_t(sysconf(_SC_PAGESIZE));
  size_ = info.max_entries;
  mask_ = size_ - 1;

  // The kernel allows a writable mapping of the consumer page only.
  consumer_map_ = mmap(nullptr, page_, PROT_READ | PROT_WRITE, MAP_SHARED, map_fd, 0);
  if (consumer_map_ == MAP_FAILED) {
    consumer_map_ = nullptr;
    throw bpf_error("map ring buffer consumer page", errno, "cannot map the ring buffer");
  }
  // Producer page + the data pages once (libbpf maps them twice; see the header).
  data_map_len_ = page_ + size_;
  data_map_ = mmap(nullptr, data_map_len_, PROT_READ, MAP_SHARED, map_fd, off_t(page_));
  if (data_map_ == MAP_FAILED) {
    int e = errno;
    data_map_ = nullptr;
    release();
    throw bpf_error("map ring buffer data", e, "cannot map the ring buffer");
  }
  consumer_pos_ = static_cast<uint64_t*>(consumer_map_);
  producer_pos_ = static_cast<const uint64_t*>(data_map_);
  data_ = static_cast<const uint8_t*>(data_map_) + page_;

  epoll_fd_ = epoll_create1(EPOLL_CLOEXEC);
  epoll_event ev{};
  ev.events = EPOLLIN;
  if (epoll_fd_ < 0 || epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, map_fd, &ev) != 0) {
    int e = errno;
    release();
    throw bpf_error("epoll ring buffer", e, "cannot wait on the ring buffer");
  }
}

RingReader::~RingReader() { release(); }

void RingReader::release() {
  if (epoll_fd_ >= 0) close(epoll_fd_);
  epoll_fd_ = -1;
  if (data_map_) munmap(data_map_, data_map_len_);
  data_map_ = nullptr;
  if (consumer_map_) munmap(consumer_map_, page_);
  consumer_map_ = nullptr;
}

int RingReader::wait(int timeout_ms) {
  epoll_event ev{};
  int n = epoll_wait(epoll_fd_, &ev, 1, timeout_ms);
  return n < 0 ? -errno : n;
}

uint64_t RingReader::pending() const {
  return __atomic_load_n(producer_pos_, __ATOMIC_ACQUIRE) - __atomic_load_n(consumer_pos_, __ATOMIC_RELAXED);
}

uint64_t RingReader::consume(Sample cb, void* ctx) {
  uint64_t n = 0;
  uint64_t cons = __atomic_load_n(consumer_pos_, __ATOMIC_ACQUIRE);
  for (;;) {
    uint64_t prod = __atomic_load_n(producer_pos_, __ATOMIC_ACQUIRE);
    if (cons >= prod) return n;
    while (cons < prod) {
      // Headers are 8-byte aligned in a ring of whole pages: never split.
      const uint8_t* hdr = data_ + (cons & mask_);
      uint32_t len = __atomic_load_n(reinterpret_cast<const uint32_t*>(hdr), __ATOMIC_ACQUIRE);
      if (len & BPF_RINGBUF_BUSY_BIT) return n;  // reserved, not committed yet
      uint64_t step = ring_len(len);
      if (!(len & BPF_RINGBUF_DISCARD_BIT)) {
        uint64_t start = (cons + BPF_RINGBUF_HDR_SZ) & mask_;
        const uint8_t* p;
        if (start + len <= size_) {
          p = data_ + start;
        } else {
          // The payload wraps the end of the data area: join its two parts.
          if (scratch_.size() < len) scratch_.resize(len);
          uint64_t first = size_ - start;
          std::memcpy(scratch_.data(), data_ + start, first);
          std::memcpy(scratch_.data() + first, data_, len - first);
          p = scratch_.data();
          wrapped_.fetch_add(1, std::memory_order_relaxed);
        }
        cb(ctx, p, len);
        ++n;
      }
      cons += step;
      __atomic_store_n(consumer_pos_, cons, __ATOMIC_RELEASE);
    }
  }
}

}  // namespace agentrail
