// Plug-in point for code that must see raw records on the poll thread before
// they are batched for JS (the TLS attacher: exec / mmap_exec records tell it
// which binaries and libssl copies to attach uprobes to).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "agentrail_abi.h"
#include "coverage_table.h"

struct bpf_object;

namespace agentrail {

struct LoadedObject {
  std::string name;        // file name without ".bpf.o": "process", "tls", ...
  struct bpf_object* obj;  // loaded and (auto-)attached; owned by the Sensor
};

struct SensorContext {
  const std::vector<LoadedObject>* objects;
  bool trace_all;
  int events_fd;   // ar_events ring buffer
  int pids_fd;     // ar_pids   (u32 tgid -> u8)
  int cgroups_fd;  // ar_cgroups (u64 cgroup id -> u8)
  int config_fd;   // ar_config (struct ar_config at key 0)
};

// All callbacks except the constructor and the destructor run on the Sensor's
// poll thread, so an observer needs no locking of its own. They must not
// throw and must not block for long (the ring buffer keeps filling).
class RecordObserver {
 public:
  virtual ~RecordObserver() = default;
  // Once, on the poll thread, before the first record. Pids/cgroups traced
  // at start are already in the maps (scan /proc for running processes here).
  virtual void on_start(const SensorContext& ctx) { (void)ctx; }
  // Every record, in ring-buffer order, before it is copied into a batch.
  virtual void on_record(const ar_hdr* rec, size_t len) = 0;
  // Sensor.addPid() / addCgroup() from JS, delivered on the poll thread.
  virtual void on_pid_added(uint32_t pid) { (void)pid; }
  virtual void on_cgroup_added(uint64_t cgroup_id) { (void)cgroup_id; }
  // Roughly every 100 ms, also when idle.
  virtual void on_tick() {}
  // On the poll thread after the last record, before the thread exits:
  // detach links here (bpf_link__destroy); objects are closed after this.
  virtual void on_stop() {}
  // Extra counters merged into Sensor.counters().observers as name -> value.
  virtual void counters(std::vector<std::pair<std::string, uint64_t>>& out) const { (void)out; }
  // Per-binary verdicts (coverage_table.h); may be called from any thread.
  virtual void coverage(std::vector<BinaryVerdict>& out) const { (void)out; }
};

}  // namespace agentrail
