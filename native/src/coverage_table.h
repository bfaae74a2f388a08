// SPDX-License-Identifier: Apache-2.0
// What the TLS attacher concluded about each binary it inspected: the
// per-binary verdict behind `agentrail status`, /status and the
// agentrail_tls_binaries metric, so a blind spot is never silent. Written on
// the poll thread, read from any thread (JS asks through the addon).
#pragma once

#include <cstdint>
#include <deque>
#include <mutex>
#include <string>
#include <vector>

namespace agentrail {

struct BinaryVerdict {
  std::string path;      // as the sensor reached it (real path in the sensor's mount namespace)
  uint64_t dev = 0;      // kernel dev (major << 20 | minor)
  uint64_t ino = 0;
  std::string build_id;  // hex GNU build-id (Go: "go-…"), "" when absent
  std::string runtime;   // node, bun, go, python, shared-library, static-openssl, native
  std::string library;   // openssl, boringssl-stripped, go-crypto-tls, none
  std::string state;     // attached, unrecognized, failed, no-tls
  std::string reason;    // why, in a stable short phrase
  uint32_t probes = 0;   // uprobe links attached for it
  uint64_t locate_ns = 0;
  uint64_t seen_unix_ms = 0;
};

class CoverageTable {
 public:
  explicit CoverageTable(size_t cap = 2048) : cap_(cap) {}
  // Adds or replaces the verdict of (dev, ino); the oldest entry leaves when full (counted).
  void record(BinaryVerdict v);
  std::vector<BinaryVerdict> snapshot() const;
  uint64_t evicted() const;
  // Bumped by every record(): readers re-read the table only when it moved.
  uint64_t version() const;

 private:
  size_t cap_;
  mutable std::mutex mu_;
  std::deque<BinaryVerdict> rows_;
  uint64_t evicted_ = 0;
  uint64_t version_ = 0;
};

}  // namespace agentrail
