// SPDX-License-Identifier: Apache-2.0
// The aws-lc path of the TlsAttacher (rustls over aws-lc-rs: Codex): for a
// stripped binary carrying aws-lc's cipher/aead.c, locate EVP_AEAD_CTX_seal
// and EVP_AEAD_CTX_open (aead_locator.h) and attach the programs of
// bpf/include/tls_aead.bpf.h: handle_aead_seal at seal's entry (and
// handle_aead_seal_scatter at seal_scatter's, TLS 1.2, when located),
// handle_aead_open + handle_aead_open_ret around open (a uretprobe is safe on
// Rust/C code; the rule against it is for Go's movable stacks). Runs on the
// poll thread like the rest of the attacher; counters() may be read from any thread.
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

class AeadProbes {
 public:
  enum class Result { NotAwsLc, Unrecognized, Attached, Failed };
  explicit AeadProbes(bpf_object* tls_obj);
  // fd: the file held open by the attacher; held: "/proc/self/fd/N" for it.
  // New links are appended to `links`; failed attach calls counted in `failures`.
  Result attach(int fd, const std::string& held, std::vector<bpf_link*>& links, std::atomic<uint64_t>& failures);
  void counters(std::vector<std::pair<std::string, uint64_t>>& out) const;

 private:
  bpf_program* seal_ = nullptr;
  bpf_program* open_ = nullptr;
  bpf_program* open_ret_ = nullptr;
  bpf_program* seal_scatter_ = nullptr;
  std::atomic<uint64_t> attached_{0}, probes_{0}, cache_hits_{0}, unrecognized_{0}, locate_ns_max_{0};
};

}  // namespace agentrail
