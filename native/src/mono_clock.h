// SPDX-License-Identifier: Apache-2.0
// CLOCK_MONOTONIC in ns, and a lock-free running maximum, for the attach and
// locate timings the TLS attacher reports as counters.
#pragma once

#include <time.h>

#include <atomic>
#include <cstdint>

namespace agentrail {

inline uint64_t monoNs() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return uint64_t(ts.tv_sec) * 1000000000ull + uint64_t(ts.tv_nsec);
}

inline void storeMax(std::atomic<uint64_t>& a, uint64_t v) {
  uint64_t cur = a.load(std::memory_order_relaxed);
  while (v > cur && !a.compare_exchange_weak(cur, v, std::memory_order_relaxed)) {
  }
}

}  // namespace agentrail
