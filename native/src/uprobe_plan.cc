// SPDX-License-Identifier: Apache-2.0
#include "uprobe_plan.h"

#include <bpf/libbpf.h>

namespace agentrail {

size_t attachAllOrNothing(const std::vector<UprobeStep>& plan, const std::string& held, std::vector<bpf_link*>& links,
                          std::atomic<uint64_t>& failures) {
  std::vector<bpf_link*> mine;
  for (const UprobeStep& s : plan) {
    LIBBPF_OPTS(bpf_uprobe_opts, o, .retprobe = s.retprobe);
    bpf_link* l = bpf_program__attach_uprobe_opts(s.prog, -1, held.c_str(), size_t(s.offset), &o);
    if (!l) {
      failures++;
      for (bpf_link* m : mine) bpf_link__destroy(m);
      return 0;
    }
    mine.push_back(l);
  }
  links.insert(links.end(), mine.begin(), mine.end());
  return mine.size();
}

}  // namespace agentrail
