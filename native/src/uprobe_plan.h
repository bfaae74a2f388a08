// SPDX-License-Identifier: Apache-2.0
// All-or-nothing attachment of a set of uprobes to one file, shared by the
// probe families of the TlsAttacher (go_tls_probes.cc, aead_probes.cc): an
// entry probe whose return-side probes are missing would lose data silently,
// so a failed attach destroys the links made so far.
#pragma once

#include <atomic>
#include <cstdint>
#include <string>
#include <vector>

struct bpf_program;
struct bpf_link;

namespace agentrail {

struct UprobeStep {
  bpf_program* prog;
  uint64_t offset;  // file offset in `held`
  bool retprobe;
};

// Attaches every step in order to `held` (pid -1); on success appends the
// links to `links` and returns their number, on the first failure counts it
// in `failures`, destroys what it made and returns 0.
size_t attachAllOrNothing(const std::vector<UprobeStep>& plan, const std::string& held, std::vector<bpf_link*>& links,
                          std::atomic<uint64_t>& failures);

}  // namespace agentrail
