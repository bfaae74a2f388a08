// SPDX-License-Identifier: Apache-2.0
#include "coverage_table.h"

#include <time.h>

namespace agentrail {

void CoverageTable::record(BinaryVerdict v) {
  if (v.seen_unix_ms == 0) {
    timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    v.seen_unix_ms = uint64_t(ts.tv_sec) * 1000 + uint64_t(ts.tv_nsec) / 1000000;
  }
  std::lock_guard<std::mutex> g(mu_);
  version_++;
  for (BinaryVerdict& r : rows_) {
    if (r.dev == v.dev && r.ino == v.ino) {
      r = std::move(v);
      return;
    }
  }
  if (rows_.size() >= cap_) {
    rows_.pop_front();
    evicted_++;
  }
  rows_.push_back(std::move(v));
}

std::vector<BinaryVerdict> CoverageTable::snapshot() const {
  std::lock_guard<std::mutex> g(mu_);
  return {rows_.begin(), rows_.end()};
}

uint64_t CoverageTable::evicted() const {
  std::lock_guard<std::mutex> g(mu_);
  return evicted_;
}

uint64_t CoverageTable::version() const {
  std::lock_guard<std::mutex> g(mu_);
  return version_;
}

}  // namespace agentrail
