// SPDX-License-Identifier: Apache-2.0
#include "aead_probes.h"

#include <bpf/libbpf.h>

#include "aead_locator.h"
#include "mono_clock.h"

namespace agentrail {

AeadProbes::AeadProbes(bpf_object* obj) {
  if (!obj) return;
  seal_ = bpf_object__find_program_by_name(obj, "handle_aead_seal");
  open_ = bpf_object__find_program_by_name(obj, "handle_aead_open");
  open_ret_ = bpf_object__find_program_by_name(obj, "handle_aead_open_ret");
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
  if (!seal_ || !open_ || !open_ret_) {
    failures++;
    return Result::Failed;
  }
  // open's return probe first, then its entry, then seal: an entry never
  // saves state that no return probe would clear.
  struct Step {
    bpf_program* prog;
    uint64_t off;
    bool ret;
  };
  const Step plan[] = {{open_ret_, loc.open, true}, {open_, loc.open, false}, {seal_, loc.seal, false}};
  std::vector<bpf_link*> mine;
  for (const Step& s : plan) {
    LIBBPF_OPTS(bpf_uprobe_opts, o, .retprobe = s.ret);
    bpf_link* l = bpf_program__attach_uprobe_opts(s.prog, -1, held.c_str(), size_t(s.off), &o);
    if (!l) {
      failures++;
      // All or nothing: a seal without open would show requests without answers.
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

void AeadProbes::counters(std::vector<std::pair<std::string, uint64_t>>& out) const {
  out.emplace_back("tls_aead_attached", attached_.load());
  out.emplace_back("tls_aead_probes_attached", probes_.load());
  out.emplace_back("tls_aead_cache_hits", cache_hits_.load());
  out.emplace_back("tls_aead_unrecognized", unrecognized_.load());
  out.emplace_back("tls_aead_locate_ns_max", locate_ns_max_.load());
}

}  // namespace agentrail
