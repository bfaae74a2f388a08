// SPDX-License-Identifier: Apache-2.0
#include "go_tls_probes.h"

#include <bpf/libbpf.h>

#include "go_locate_cache.h"
#include "mono_clock.h"
#include "uprobe_plan.h"

namespace agentrail {

GoTlsProbes::GoTlsProbes(bpf_object* obj) {
  if (!obj) return;
  write_ = bpf_object__find_program_by_name(obj, "handle_go_tls_write");
  read_ = bpf_object__find_program_by_name(obj, "handle_go_tls_read");
  read_ret_ = bpf_object__find_program_by_name(obj, "handle_go_tls_read_ret");
}

GoTlsProbes::Result GoTlsProbes::attach(int fd, const std::string& held, std::vector<bpf_link*>& links,
                                        std::atomic<uint64_t>& failures, std::string* build_id, std::string* why) {
  uint64_t t0 = monoNs();
  bool hit = false;
  GoTlsLocation loc = locateGoCached(fd, hit);
  if (!loc.is_go) return Result::NotGo;
  if (build_id) *build_id = loc.build_id;
  if (why) *why = loc.found ? "crypto/tls.(*Conn).Write/Read from .gopclntab" : loc.why;
  if (hit) cache_hits_++;
  storeMax(locate_ns_max_, monoNs() - t0);
  if (loc.why == "no-crypto-tls") {  // a Go program that never speaks TLS: nothing to capture
    no_tls_++;
    return Result::NoCryptoTls;
  }
  if (!loc.found) {
    unrecognized_++;
    return Result::Unrecognized;
  }
  if (!write_ || !read_ || !read_ret_) {
    if (why) *why = "Go TLS programs missing from tls.bpf.o";
    failures++;
    return Result::Failed;
  }
  // Read's RET probes first, then its entry, then Write: a Read entry never
  // saves state that no RET probe would clear (the LRU map would age it out anyway).
  std::vector<UprobeStep> plan;
  for (uint64_t r : loc.read_rets) plan.push_back({read_ret_, r, false});
  plan.push_back({read_, loc.read, false});
  plan.push_back({write_, loc.write, false});
  // All or nothing: a Read entry without every RET probe would lose reads silently.
  size_t n = attachAllOrNothing(plan, held, links, failures);
  if (n == 0) {
    if (why) *why = "uprobe attach failed";
    return Result::Failed;
  }
  probes_ += n;
  attached_++;
  return Result::Attached;
}

void GoTlsProbes::counters(std::vector<std::pair<std::string, uint64_t>>& out) const {
  out.emplace_back("tls_go_attached", attached_.load());
  out.emplace_back("tls_go_probes_attached", probes_.load());
  out.emplace_back("tls_go_cache_hits", cache_hits_.load());
  out.emplace_back("tls_go_unrecognized", unrecognized_.load());
  out.emplace_back("tls_go_without_tls", no_tls_.load());
  out.emplace_back("tls_go_locate_ns_max", locate_ns_max_.load());
}

}  // namespace agentrail
