// The Sensor: owns the BPF objects (loaded with shared ar_* maps), their
// links, the observers (TLS attacher) and the poll thread. No globals: one
// instance per `new Sensor()` in JS. Pure C++ (no N-API) so it can be tested
// and reasoned about on its own; addon.cc adapts it to JS.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "record_observer.h"
#include "ring_poller.h"

struct bpf_object;
struct bpf_link;

namespace agentrail {

struct SensorOptions {
  std::string object_dir;
  std::vector<std::string> objects;  // names ("process") or paths; empty = every *.bpf.o
  bool trace_all = false;
  std::vector<uint32_t> pids;
  std::vector<uint64_t> cgroups;
  std::vector<std::string> comms;  // executable names whose exec starts tracing (in the kernel)
  uint32_t tls_cap = AR_TLS_CAP_DEFAULT;
  uint32_t pipe_cap = 16384;
  uint32_t flush_interval_ms = 1000;  // periodic fd-counter flush; 0 = never
  uint32_t ring_bytes = 16u << 20;
  size_t batch_records = 4096;
  size_t batch_bytes = 1u << 20;
};

struct SensorCounters {
  std::map<std::string, std::vector<uint64_t>> drops;  // family -> per reason (AR_DROP_REASON_MAX)
  RingPoller::Stats poller;
  uint64_t periodic_flushes = 0;
  std::vector<std::pair<std::string, uint64_t>> observers;
};

class Sensor {
 public:
  explicit Sensor(SensorOptions opts);
  ~Sensor();
  Sensor(const Sensor&) = delete;
  Sensor& operator=(const Sensor&) = delete;

  // Loads and attaches every object, then starts the poll thread. Throws
  // SensorError. `deliver` is called on the poll thread.
  void start(RingPoller::Deliver deliver, RingPoller::Ready ready);
  void stop();
  bool running() const { return poller_ != nullptr; }

  void add_pid(uint32_t pid);
  void remove_pid(uint32_t pid);
  void add_cgroup(uint64_t id);
  void remove_cgroup(uint64_t id);

  SensorCounters counters();
  // Per-binary TLS verdicts of the observers (coverage_table.h).
  std::vector<BinaryVerdict> coverage();
  std::vector<std::string> loaded_objects() const;
  // Replaces the contents of an enforce_* map of enforce.bpf.o (enforce_maps.cc).
  void replace_enforce_map(const std::string& name, const std::vector<std::pair<std::string, std::string>>& entries);

 private:
  void load_all();
  void close_all();
  std::vector<std::string> object_paths() const;
  void write_config();
  void begin();
  void tick(Batch& batch);
  void flush_fd_stats(Batch& batch);

  SensorOptions opts_;
  std::vector<LoadedObject> objects_;
  std::vector<bpf_link*> links_;
  std::map<std::string, int> shared_fds_;  // ar_* map name -> fd (owned by the first object)
  int fdstats_fd_ = -1;
  bool enforce_attached_ = false;  // enforce.bpf.o's programs, attached on its first list
  std::vector<std::unique_ptr<RecordObserver>> observers_;
  std::unique_ptr<RingPoller> poller_;
  SensorContext ctx_{};

  std::mutex pending_mu_;  // pid/cgroup additions for the observers, drained on the poll thread
  std::vector<uint32_t> pending_pids_;
  std::vector<uint64_t> pending_cgroups_;

  std::chrono::steady_clock::time_point last_flush_{};
  std::chrono::steady_clock::time_point last_tick_{};
  std::atomic<uint64_t> periodic_flushes_{0};
  SensorCounters last_counters_;
  std::vector<BinaryVerdict> last_coverage_;  // snapshot taken by stop(), served afterwards  // snapshot taken by stop(), served afterwards
};

}  // namespace agentrail
