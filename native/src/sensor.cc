#include "sensor.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <dirent.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <set>
#include <thread>

#include "ar_fdstats.h"
#include "errors.h"

#if __has_include("tls_attacher.h")
#include "tls_attacher.h"
#define AR_HAVE_TLS_ATTACHER 1
#endif

namespace agentrail {
namespace {

bool starts_with(const std::string& s, const char* p) { return s.rfind(p, 0) == 0; }

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

bool exists(const std::string& p) {
  struct stat st;
  return stat(p.c_str(), &st) == 0;
}

std::string tracefs_root() {
  if (exists("/sys/kernel/tracing/events")) return "/sys/kernel/tracing";
  return "/sys/kernel/debug/tracing";
}

std::string base_name(const std::string& path) {
  std::string b = path.substr(path.find_last_of('/') + 1);
  if (ends_with(b, ".bpf.o")) b.resize(b.size() - 6);
  return b;
}

uint64_t monotonic_ns() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return uint64_t(ts.tv_sec) * 1000000000ull + uint64_t(ts.tv_nsec);
}

}  // namespace

Sensor::Sensor(SensorOptions opts) : opts_(std::move(opts)) {}

Sensor::~Sensor() { stop(); }

std::vector<std::string> Sensor::object_paths() const {
  std::vector<std::string> out;
  if (!opts_.objects.empty()) {
    for (const auto& o : opts_.objects) {
      if (o.find('/') != std::string::npos) out.push_back(o);
      else out.push_back(opts_.object_dir + "/" + (ends_with(o, ".bpf.o") ? o : o + ".bpf.o"));
    }
    return out;
  }
  DIR* d = opendir(opts_.object_dir.c_str());
  if (!d)
    throw SensorError("NOT_BUILT", errno, "open objects", "no BPF objects in " + opts_.object_dir,
                      "build them: npm run build:bpf");
  while (dirent* e = readdir(d)) {
    std::string n = e->d_name;
    if (ends_with(n, ".bpf.o")) out.push_back(opts_.object_dir + "/" + n);
  }
  closedir(d);
  std::sort(out.begin(), out.end());
  if (out.empty())
    throw SensorError("NOT_BUILT", ENOENT, "open objects", "no BPF objects in " + opts_.object_dir,
                      "build them: npm run build:bpf");
  return out;
}

void Sensor::load_all() {
  const std::string tracefs = tracefs_root();
  for (const std::string& path : object_paths()) {
    const std::string name = base_name(path);
    if (!exists(path))
      throw SensorError("NOT_BUILT", ENOENT, "open " + name, "BPF object " + path + " not found",
                        "build them: npm run build:bpf");
    bpf_object* obj = bpf_object__open_file(path.c_str(), nullptr);
    if (!obj) throw bpf_error("open " + name, errno, "cannot open BPF object " + path);
    objects_.push_back({name, obj});

    bpf_map* map;
    bpf_object__for_each_map(map, obj) {
      std::string mname = bpf_map__name(map);
      if (!starts_with(mname, "ar_")) continue;
      auto it = shared_fds_.find(mname);
      if (it != shared_fds_.end()) {
        int err = bpf_map__reuse_fd(map, it->second);
        if (err) throw bpf_error("reuse map " + mname, err, "cannot share map " + mname + " with " + name);
      } else if (mname == "ar_events") {
        int err = bpf_map__set_max_entries(map, opts_.ring_bytes);
        if (err) throw bpf_error("size ring buffer", err, "invalid ringBytes (a power of 2, multiple of the page size)");
      }
    }
    bpf_program* prog;
    bpf_object__for_each_program(prog, obj) {
      std::string sec = bpf_program__section_name(prog);
      // Syscalls this architecture lacks (open, rename, ... on arm64) are skipped.
      if (starts_with(sec, "tracepoint/syscalls/") &&
          !exists(tracefs + "/events/syscalls/" + sec.substr(strlen("tracepoint/syscalls/"))))
        bpf_program__set_autoload(prog, false);
    }
    int err = bpf_object__load(obj);
    if (err) throw bpf_error("load " + name, err, "cannot load BPF object " + name);

    bpf_object__for_each_map(map, obj) {
      std::string mname = bpf_map__name(map);
      if (starts_with(mname, "ar_") && !shared_fds_.count(mname)) shared_fds_[mname] = bpf_map__fd(map);
    }
    if (name == "file") fdstats_fd_ = bpf_object__find_map_fd_by_name(obj, "file_fdstats");
  }
  for (const char* m : {"ar_events", "ar_pids", "ar_cgroups", "ar_comms", "ar_config"}) {
    if (!shared_fds_.count(m))
      throw SensorError("BPF_INVALID", ENOENT, "load", std::string("no object declares the shared map ") + m,
                        "rebuild the BPF objects: npm run build:bpf");
  }
}

void Sensor::write_config() {
  ar_config cfg{};
  cfg.trace_all = opts_.trace_all ? 1 : 0;
  cfg.tls_cap = opts_.tls_cap;
  cfg.pipe_cap = opts_.pipe_cap;
  cfg.self_pid = uint32_t(getpid());
  cfg.flush_interval_ns = uint64_t(opts_.flush_interval_ms) * 1000000ull;
  uint32_t zero = 0;
  if (bpf_map_update_elem(shared_fds_["ar_config"], &zero, &cfg, BPF_ANY))
    throw bpf_error("write config", errno, "cannot write ar_config");
  uint8_t one = 1;
  for (uint32_t pid : opts_.pids)
    if (bpf_map_update_elem(shared_fds_["ar_pids"], &pid, &one, BPF_ANY))
      throw bpf_error("add pid", errno, "cannot add pid " + std::to_string(pid));
  for (uint64_t cg : opts_.cgroups)
    if (bpf_map_update_elem(shared_fds_["ar_cgroups"], &cg, &one, BPF_ANY))
      throw bpf_error("add cgroup", errno, "cannot add cgroup " + std::to_string(cg));
  for (const std::string& comm : opts_.comms) {
    char key[AR_COMM_LEN] = {};  // the kernel's comm: at most 15 bytes, NUL-padded
    std::memcpy(key, comm.data(), std::min(comm.size(), sizeof(key) - 1));
    if (bpf_map_update_elem(shared_fds_["ar_comms"], key, &one, BPF_ANY))
      throw bpf_error("add comm", errno, "cannot add comm " + comm);
  }
}

void Sensor::start(RingPoller::Deliver deliver, RingPoller::Ready ready) {
  if (poller_) throw SensorError("ALREADY_STARTED", EBUSY, "start", "the sensor is already running", "call stop() first");
  preflight();
  try {
    load_all();
    write_config();
    for (const LoadedObject& lo : objects_) {
      if (lo.name == "enforce") continue;  // attached by its first list (enforce_maps.cc): off costs nothing
      bpf_program* prog;
      bpf_object__for_each_program(prog, lo.obj) {
        if (!bpf_program__autoload(prog)) continue;
        std::string sec = bpf_program__section_name(prog);
        // Target-less uprobes are attached by a plug-in (TLS attacher).
        if (starts_with(sec, "uprobe") || starts_with(sec, "uretprobe") || starts_with(sec, "usdt")) continue;
        bpf_link* link = bpf_program__attach(prog);
        if (!link)
          throw bpf_error("attach " + std::string(bpf_program__name(prog)), errno,
                          "cannot attach " + lo.name + "/" + bpf_program__name(prog));
        links_.push_back(link);
      }
    }
#ifdef AR_HAVE_TLS_ATTACHER
    for (const LoadedObject& lo : objects_)
      if (lo.name == "tls") observers_.push_back(std::make_unique<TlsAttacher>(lo.obj));
#endif
    ctx_.objects = &objects_;
    ctx_.trace_all = opts_.trace_all;
    ctx_.events_fd = shared_fds_["ar_events"];
    ctx_.pids_fd = shared_fds_["ar_pids"];
    ctx_.cgroups_fd = shared_fds_["ar_cgroups"];
    ctx_.config_fd = shared_fds_["ar_config"];
    std::vector<RecordObserver*> obs;
    for (auto& o : observers_) obs.push_back(o.get());
    last_flush_ = last_tick_ = std::chrono::steady_clock::now();
    poller_ = std::make_unique<RingPoller>(
        ctx_.events_fd, opts_.batch_records, opts_.batch_bytes, 10, std::move(deliver), std::move(ready),
        [this] { begin(); },
        [this](Batch& b) { tick(b); }, std::move(obs));
    poller_->start();
  } catch (...) {
    close_all();
    throw;
  }
}

void Sensor::begin() {
  for (auto& o : observers_) o->on_start(ctx_);
}

void Sensor::tick(Batch& batch) {
  std::vector<uint32_t> pids;
  std::vector<uint64_t> cgroups;
  {
    std::lock_guard<std::mutex> lk(pending_mu_);
    pids.swap(pending_pids_);
    cgroups.swap(pending_cgroups_);
  }
  for (auto& o : observers_) {
    for (uint32_t p : pids) o->on_pid_added(p);
    for (uint64_t c : cgroups) o->on_cgroup_added(c);
  }
  auto now = std::chrono::steady_clock::now();
  if (now - last_tick_ >= std::chrono::milliseconds(100)) {
    last_tick_ = now;
    for (auto& o : observers_) o->on_tick();
  }
  if (opts_.flush_interval_ms && fdstats_fd_ >= 0 &&
      now - last_flush_ >= std::chrono::milliseconds(opts_.flush_interval_ms)) {
    last_flush_ = now;
    flush_fd_stats(batch);
  }
}

// Periodic flush of the in-kernel fd counters: each entry is removed with
// lookup-and-delete (the kernel starts a fresh entry on the next I/O), so
// every record carries the delta since the previous one. An increment racing
// with the delete can be lost; close and exit flushes happen in the kernel.
void Sensor::flush_fd_stats(Batch& batch) {
  std::vector<ar_fdkey> keys;
  ar_fdkey cur{}, next{};
  const void* prev = nullptr;
  while (keys.size() < AR_FDSTATS_MAX && bpf_map_get_next_key(fdstats_fd_, prev, &next) == 0) {
    keys.push_back(next);
    cur = next;
    prev = &cur;
  }
  if (keys.empty()) return;
  periodic_flushes_.fetch_add(1, std::memory_order_relaxed);
  uint64_t now = monotonic_ns();
  for (const ar_fdkey& k : keys) {
    ar_fdstat v{};
    if (bpf_map_lookup_and_delete_elem(fdstats_fd_, &k, &v) != 0) {
      if (bpf_map_lookup_elem(fdstats_fd_, &k, &v) != 0) continue;
      bpf_map_delete_elem(fdstats_fd_, &k);
    }
    ar_fd_io r{};
    r.hdr.op = AR_OP_FD_IO;
    r.hdr.version = AR_ABI_VERSION;
    r.hdr.size = sizeof(r);
    r.hdr.ktime_ns = now;
    r.hdr.pid = k.tgid;
    r.hdr.tid = v.tid;
    r.hdr.cgroup_id = v.cgroup_id;
    r.fd = k.fd;
    r.fd_kind = v.fd_kind;
    r.read_bytes = v.read_bytes;
    r.write_bytes = v.write_bytes;
    r.read_calls = v.read_calls;
    r.write_calls = v.write_calls;
    r.reason = AR_FLUSH_PERIODIC;
    r.first_ns = v.first_ns;
    r.last_ns = v.last_ns;
    r.ino = v.ino;
    poller_->add(batch, &r, sizeof(r));
  }
}

void Sensor::stop() {
  if (poller_) {
    poller_->stop();
    last_counters_ = counters();
    last_coverage_ = coverage();
    poller_.reset();
  }
  close_all();
}

// Detaching is slow: every tracepoint detach waits for an RCU grace period
// inside the kernel, serialized (~20-40 ms each, 1-3 s for all objects). The
// poll thread has already been joined, so nothing reads the objects any more:
// the links and objects are released on a detached thread and stop() returns
// without blocking the JS thread. Until then the programs may still run and
// find no consumer; nothing depends on their records.
void Sensor::close_all() {
  struct Teardown {
    std::vector<std::unique_ptr<RecordObserver>> observers;
    std::vector<bpf_link*> links;
    std::vector<LoadedObject> objects;
  };
  auto* td = new Teardown{std::move(observers_), std::move(links_), std::move(objects_)};
  observers_.clear();
  links_.clear();
  objects_.clear();
  shared_fds_.clear();
  fdstats_fd_ = -1;
  enforce_attached_ = false;
  std::thread([td] {
    td->observers.clear();  // they detach their own links first
    for (bpf_link* l : td->links) bpf_link__destroy(l);
    for (auto it = td->objects.rbegin(); it != td->objects.rend(); ++it) bpf_object__close(it->obj);
    delete td;
  }).detach();
}

void Sensor::add_pid(uint32_t pid) {
  if (std::find(opts_.pids.begin(), opts_.pids.end(), pid) == opts_.pids.end()) opts_.pids.push_back(pid);
  auto it = shared_fds_.find("ar_pids");
  if (it == shared_fds_.end()) return;
  uint8_t one = 1;
  if (bpf_map_update_elem(it->second, &pid, &one, BPF_ANY)) throw bpf_error("add pid", errno, "cannot add pid");
  std::lock_guard<std::mutex> lk(pending_mu_);
  pending_pids_.push_back(pid);
}

void Sensor::remove_pid(uint32_t pid) {
  opts_.pids.erase(std::remove(opts_.pids.begin(), opts_.pids.end(), pid), opts_.pids.end());
  auto it = shared_fds_.find("ar_pids");
  if (it != shared_fds_.end()) bpf_map_delete_elem(it->second, &pid);
}

void Sensor::add_cgroup(uint64_t id) {
  if (std::find(opts_.cgroups.begin(), opts_.cgroups.end(), id) == opts_.cgroups.end()) opts_.cgroups.push_back(id);
  auto it = shared_fds_.find("ar_cgroups");
  if (it == shared_fds_.end()) return;
  uint8_t one = 1;
  if (bpf_map_update_elem(it->second, &id, &one, BPF_ANY)) throw bpf_error("add cgroup", errno, "cannot add cgroup");
  std::lock_guard<std::mutex> lk(pending_mu_);
  pending_cgroups_.push_back(id);
}

void Sensor::remove_cgroup(uint64_t id) {
  opts_.cgroups.erase(std::remove(opts_.cgroups.begin(), opts_.cgroups.end(), id), opts_.cgroups.end());
  auto it = shared_fds_.find("ar_cgroups");
  if (it != shared_fds_.end()) bpf_map_delete_elem(it->second, &id);
}

SensorCounters Sensor::counters() {
  if (!poller_ && objects_.empty()) return last_counters_;
  SensorCounters c;
  int ncpu = libbpf_num_possible_cpus();
  for (const LoadedObject& lo : objects_) {
    bpf_map* map;
    bpf_object__for_each_map(map, lo.obj) {
      std::string mname = bpf_map__name(map);
      if (!ends_with(mname, "_drops") || ncpu <= 0) continue;
      std::vector<uint64_t> sums(AR_DROP_REASON_MAX, 0);
      std::vector<uint64_t> per(ncpu);
      for (uint32_t r = 0; r < AR_DROP_REASON_MAX; r++) {
        if (bpf_map_lookup_elem(bpf_map__fd(map), &r, per.data()) == 0)
          for (int i = 0; i < ncpu; i++) sums[r] += per[i];
      }
      c.drops[mname.substr(0, mname.size() - 6)] = sums;
    }
  }
  if (poller_) c.poller = poller_->stats();
  c.periodic_flushes = periodic_flushes_.load();
  for (auto& o : observers_) o->counters(c.observers);
  return c;
}

std::vector<BinaryVerdict> Sensor::coverage() {
  if (!poller_ && objects_.empty()) return last_coverage_;
  std::vector<BinaryVerdict> out;
  for (auto& o : observers_) o->coverage(out);
  return out;
}

std::vector<std::string> Sensor::loaded_objects() const {
  std::vector<std::string> out;
  for (const auto& lo : objects_) out.push_back(lo.name);
  return out;
}

}  // namespace agentrail
