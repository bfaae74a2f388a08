// SPDX-License-Identifier: Apache-2.0
#include "go_tls_probes.h"

#include <bpf/libbpf.h>

#include "go_locate_cache.h"
#include "mono_clock.h"

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
  std::vector<std::pair<bpf_program*, uint64_t>> plan;
  for (uint64_t r : loc.read_rets) plan.emplace_back(read_ret_, r);
  plan.emplace_back(read_, loc.read);
  plan.emplace_back(write_, loc.write);
  std::vector<bpf_link*> mine;
  for (auto& [prog, off] : plan) {
    LIBBPF_OPTS(bpf_uprobe_opts, o, .retprobe = false);
    bpf_link* l = bpf_program__attach_uprobe_opts(prog, -1, held.c_str(), size_t(off), &o);
    if (!l) {
      if (why) *why = "uprobe attach failed";
      failures++;
      // All or nothing: a Read entry without every RET probe would lose reads silently.
      for (bpf_link* m : mine) bpf_link__destroy(m);
      return Result::Failed;
    }
    mine.push_back(l);
  }
  links.insert(links.end(), mine.begin(), mine.end());
  probes_ += mine.size();
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
