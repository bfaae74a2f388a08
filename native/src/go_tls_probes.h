// SPDX-License-Identifier: Apache-2.0
// The Go crypto/tls path of the TlsAttacher: for a Go executable, locate
// crypto/tls.(*Conn).Write/Read (go_locate_cache.h) and attach the Go
// programs of bpf/tls.bpf.c: handle_go_tls_write at Write's entry,
// handle_go_tls_read at Read's entry and handle_go_tls_read_ret at each RET
// of Read (plain uprobes: never a uretprobe on Go code). Runs on the poll
// thread like the rest of the attacher; counters() may be read from any thread.
#pragma once

#include <atomic>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

struct bpf_object;
struct bpf_program;
struct bpf_link;

namespace agentrail {

class GoTlsProbes {
 public:
  enum class Result { NotGo, NoCryptoTls, Unrecognized, Attached, Failed };

  explicit GoTlsProbes(bpf_object* tls_obj);
  // fd: the file held open by the attacher; held: "/proc/self/fd/N" for it.
  // New links are appended to `links`; failed attach calls counted in `failures`.
  // build_id/why (optional) receive the cache key and the locator's reason.
  Result attach(int fd, const std::string& held, std::vector<bpf_link*>& links, std::atomic<uint64_t>& failures,
                std::string* build_id = nullptr, std::string* why = nullptr);
  void counters(std::vector<std::pair<std::string, uint64_t>>& out) const;

 private:
  bpf_program* write_ = nullptr;
  bpf_program* read_ = nullptr;
  bpf_program* read_ret_ = nullptr;
  std::atomic<uint64_t> attached_{0}, probes_{0}, cache_hits_{0}, unrecognized_{0}, no_tls_{0}, locate_ns_max_{0};
};

}  // namespace agentrail
