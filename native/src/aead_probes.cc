// SPDX-License-Identifier: Apache-2.0
#include "aead_probes.h"

#include <bpf/libbpf.h>

#include "aead_locator.h"
#include "mono_clock.h"
#include "uprobe_plan.h"

namespace agentrail {

AeadProbes::AeadProbes(bpf_object* obj) {
  if (!obj) return;
  seal_ = bpf_object__find_program_by_name(obj, "handle_aead_seal");
  open_ = bpf_object__find_program_by_name(obj, "handle_aead_open");
  open_ret_ = bpf_object__find_program_by_name(obj, "handle_aead_open_ret");
  seal_scatter_ = bpf_object__find_program_by_name(obj, "handle_aead_seal_scatter");
}

AeadProbes::Result AeadProbes::attach(int fd, const std::string& held, std::vector<bpf_link*>& links,
                                      std::atomic<uint64_t>& failures) {
  uint64_t t0 = monoNs();
  bool hit = false;
  AeadLocation loc = locateAeadCached(fd, hit);
  if (loc.why == "no-aead-string" || loc.why == "not-x86-64-elf") return Result::NotAwsLc;
  if (hit) cache_hits_++;
  else storeMax(locate_ns_max_, monoNs() - t0);
  if (!loc.found) {
    unrecognized_++;
    return Result::Unrecognized;
  }
  if (!seal_ || !open_ || !open_ret_ || !seal_scatter_) {
    failures++;
    return Result::Failed;
  }
  // open's return probe first, then its entry, then seal: an entry never
  // saves state that no return probe would clear.
  // All or nothing: a seal without open would show requests without answers.
  std::vector<UprobeStep> plan = {{open_ret_, loc.open, true}, {open_, loc.open, false}, {seal_, loc.seal, false}};
  if (loc.seal_scatter) plan.push_back({seal_scatter_, loc.seal_scatter, false});
  size_t n = attachAllOrNothing(plan, held, links, failures);
  if (n == 0) return Result::Failed;
  probes_ += n;
  attached_++;
  return Result::Attached;
}

void AeadProbes::counters(std::vector<std::pair<std::string, uint64_t>>& out) const {
  out.emplace_back("tls_aead_attached", attached_.load());
  out.emplace_back("tls_aead_probes_attached", probes_.load());
  out.emplace_back("tls_aead_cache_hits", cache_hits_.load());
  out.emplace_back("tls_aead_unrecognized", unrecognized_.load());
  out.emplace_back("tls_aead_locate_ns_max", locate_ns_max_.load());
}

}  // namespace agentrail
