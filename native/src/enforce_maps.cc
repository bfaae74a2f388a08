// Kernel enforcement lists (bpf/enforce.bpf.c, issue 13): user space hands
// ready-made keys and values (src/policy/kernel-enforcer.ts encodes them) and
// this replaces a map's contents. New entries are written before stale ones
// are deleted, so a list being replaced never passes through "empty".
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include <cerrno>
#include <set>

#include "errors.h"
#include "sensor.h"

namespace agentrail {

void Sensor::replace_enforce_map(const std::string& name, const std::vector<std::pair<std::string, std::string>>& entries) {
  if (name.rfind("enforce_", 0) != 0)
    throw SensorError("ENFORCE_MAP", EINVAL, "enforce", "not an enforcement map: " + name, "use enforce_* maps only");
  bpf_object* obj = nullptr;
  for (const LoadedObject& lo : objects_)
    if (lo.name == "enforce") obj = lo.obj;
  if (!obj)
    throw SensorError("ENFORCE_UNAVAILABLE", ENOENT, "enforce", "the enforce BPF object is not loaded",
                      "build it (npm run build:bpf) and start the sensor before applying enforcement lists");
  if (!enforce_attached_) {
    // Not attached at start: with no enforce rule its tracepoints would still run on every
    // open/exec/connect of the host (measured +15% on an open+close loop, bench/enforce.ts).
    // Set first: a failed attach is an error for the caller, never a second set of links.
    enforce_attached_ = true;
    bpf_program* prog;
    bpf_object__for_each_program(prog, obj) {
      if (!bpf_program__autoload(prog)) continue;
      bpf_link* link = bpf_program__attach(prog);
      if (!link)
        throw bpf_error("attach " + std::string(bpf_program__name(prog)), errno,
                        "cannot attach enforce/" + std::string(bpf_program__name(prog)));
      links_.push_back(link);
    }
  }
  bpf_map* map = bpf_object__find_map_by_name(obj, name.c_str());
  if (!map) throw SensorError("ENFORCE_MAP", ENOENT, "enforce", "no map " + name + " in enforce.bpf.o", "rebuild: npm run build:bpf");
  const size_t ksz = bpf_map__key_size(map), vsz = bpf_map__value_size(map);
  const int fd = bpf_map__fd(map);
  std::set<std::string> keep;
  for (const auto& [k, v] : entries) {
    if (k.size() != ksz || v.size() != vsz)
      throw SensorError("ENFORCE_MAP", EINVAL, "enforce", name + ": key/value size mismatch (ABI drift)", "rebuild the addon and BPF objects");
    if (bpf_map_update_elem(fd, k.data(), v.data(), BPF_ANY))
      throw bpf_error("update " + name, errno, "cannot write enforcement list " + name);
    keep.insert(k);
  }
  if (bpf_map__type(map) == BPF_MAP_TYPE_ARRAY) return;  // fixed slots: nothing to delete
  std::vector<std::string> stale;
  std::string cur(ksz, '\0'), next(ksz, '\0');
  const void* prev = nullptr;
  while (bpf_map_get_next_key(fd, prev, next.data()) == 0) {
    if (!keep.count(next)) stale.push_back(next);
    cur = next;
    prev = cur.data();
  }
  for (const std::string& k : stale) bpf_map_delete_elem(fd, k.data());
}

}  // namespace agentrail
