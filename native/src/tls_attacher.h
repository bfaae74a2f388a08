// SPDX-License-Identifier: Apache-2.0
// Attaches the uprobes of bpf/tls.bpf.c to every ELF file that exports
// SSL_write/SSL_read(_ex): libssl.so*, and binaries with OpenSSL linked in
// statically (node). One attach per (device, inode) with pid = -1 covers every
// process that maps the file; the BPF side filters traced processes.
//
// A RecordObserver of the Sensor (native/README.md): on_start attaches to the
// well-known places and to what running traced processes map; on_record reacts
// to every AR_OP_PROC_EXEC / AR_OP_PROC_MMAP_EXEC record on the poll thread,
// before the batch is handed to JS, so that a short-lived client is probed
// before its first SSL call. Files with SSL_* symbols are attached there (an
// ELF symbol lookup); files that need a capstone pass (Go, stripped
// BoringSSL: up to ~0.3 s for a 400 MB binary) go to one worker thread so the
// poll thread keeps draining the ring buffer; a stopped launch
// (scanTracedPid) locates inline. stats(), counters() and coverage() may be
// read from any thread.
#pragma once

#include <atomic>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <thread>
#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "aead_probes.h"
#include "boringssl_locator.h"
#include "coverage_table.h"
#include "go_tls_probes.h"
#include "record_observer.h"

struct bpf_object;
struct bpf_program;
struct bpf_link;

namespace agentrail {

class TlsAttacher : public RecordObserver {
 public:
  struct Stats {
    uint64_t files_attached;   // ELF files with probes attached
    uint64_t probes_attached;  // uprobe/uretprobe links
    uint64_t attach_failures;  // failed bpf_program__attach_uprobe_opts calls
    uint64_t files_scanned;    // distinct (dev, ino) inspected
    uint64_t attach_ns_total;  // time spent attaching (ELF parse + links)
    uint64_t attach_ns_max;    // slowest single file
    uint64_t record_to_attach_ns_max;  // exec/mmap record ktime -> probes live
  };

  // tls_obj: the loaded tls.bpf.o. Programs are found by name
  // (handle_ssl_{write,read,write_ex,read_ex}[_ret]).
  explicit TlsAttacher(bpf_object* tls_obj);
  ~TlsAttacher() override;

  // RecordObserver
  void on_start(const SensorContext& ctx) override;
  void on_record(const ar_hdr* rec, size_t len) override { onRecord(rec, len); }
  void on_pid_added(uint32_t pid) override { scanTracedPid(pid); }
  void on_cgroup_added(uint64_t cgroup_id) override;
  void on_tick() override;
  void on_stop() override { detachAll(); }
  void counters(std::vector<std::pair<std::string, uint64_t>>& out) const override;
  void coverage(std::vector<BinaryVerdict>& out) const override {
    std::vector<BinaryVerdict> v = coverage_.snapshot();
    out.insert(out.end(), v.begin(), v.end());
  }

  void detachAll();
  TlsAttacher(const TlsAttacher&) = delete;
  TlsAttacher& operator=(const TlsAttacher&) = delete;

  // Well-known places: `ldconfig -p` libssl.so*, /usr/bin/node, and extra
  // paths (e.g. process.execPath). Returns the number of files attached.
  int attachWellKnown(const std::vector<std::string>& extra_paths);
  // Every mapped ELF of /proc/<pid>/maps. Returns files newly attached.
  int scanPid(uint32_t pid);
  // A pid added to the selection: scanPid, and when it is stopped, the files
  // it is about to exec (launch_targets.h). Returns files newly attached.
  int scanTracedPid(uint32_t pid);
  // Every process in /proc (trace-all mode).
  int scanAllProcesses();
  // One raw ring-buffer record; reacts to AR_OP_PROC_EXEC / AR_OP_PROC_MMAP_EXEC.
  void onRecord(const ar_hdr* rec, size_t len);
  // One file by path; `pid` (0 = none) is used to reach it through
  // /proc/<pid>/root. Returns 1 if probes were attached now, else 0.
  // `exe`: the file is an executable (it gets a verdict even without TLS).
  int attachPath(const std::string& path, uint32_t pid = 0, bool exe = false);

  Stats stats() const;

 private:
  using FileKey = std::pair<uint64_t, uint64_t>;  // (kernel dev = major<<20|minor, ino)
  // A file to inspect; `fd` is held open until the job is done.
  struct Job {
    int fd = -1;
    FileKey key{0, 0};
    bool exe = false;
    std::string path;
    uint64_t t0 = 0;  // monoNs() when it was taken up
  };
  bool attachFile(const std::string& path, const FileKey& key, bool exe = false);
  bool attachSymbols(const Job& job, const uint64_t offs[4]);
  bool attachSsl(const Job& job, const uint64_t offs[4], BinaryVerdict& v);
  bool locateAndAttach(const Job& job);
  bool finish(const Job& job, BinaryVerdict& v, bool attached);
  void keepLinks(std::vector<bpf_link*>& mine);
  void handleRecord(const ar_hdr* rec, size_t len);
  // The locate worker: capstone passes off the poll thread.
  bool enqueue(const Job& job);
  void workerLoop();
  void stopWorker();
  static constexpr size_t kMaxJobs = 256;
  std::thread worker_;
  std::mutex jobs_mu_;
  std::condition_variable jobs_cv_;
  std::deque<Job> jobs_;
  bool stopping_ = false;
  bool sync_ = false;  // poll thread only: inline locate (a stopped launch)
  std::mutex links_mu_;  // links_ grows from the poll thread and the worker
  std::atomic<uint64_t> worker_jobs_{0}, worker_queue_peak_{0}, worker_queue_full_{0}, worker_wait_ns_max_{0},
      files_attached_deferred_{0}, poll_record_ns_max_{0};
  bool locateStripped(int fd, uint64_t offs[4], TlsLocation& loc);
  bool tryViaFd(uint32_t pid, int32_t fd, const FileKey& key);
  struct Pending {
    uint32_t pid;
    FileKey key;
    uint64_t deadline_ns;
  };
  std::vector<Pending> pending_;  // mmap records whose file was not found yet

  bpf_program* progs_[8] = {};
  std::vector<bpf_link*> links_;
  std::set<FileKey> seen_;  // inspected, attached or not
  std::atomic<uint64_t> files_attached_{0}, probes_attached_{0}, attach_failures_{0},
      files_scanned_{0}, attach_ns_total_{0}, attach_ns_max_{0}, record_to_attach_ns_max_{0};
  // Stripped binaries (boringssl_locator.h): located, served from the
  // build-id cache, carrying BoringSSL but not recognized; slowest locate.
  std::atomic<uint64_t> stripped_located_{0}, stripped_cache_hits_{0}, stripped_unrecognized_{0},
      locate_ns_max_{0};
  CoverageTable coverage_;  // one verdict per inspected executable / TLS library
  GoTlsProbes go_;  // Go executables: crypto/tls from .gopclntab
  AeadProbes aead_;  // codex2: stripped aws-lc (Codex), EVP_AEAD_CTX_seal/open
  std::atomic<uint64_t> preattached_{0};  // files attached before the stopped launcher exec'd them
};

}  // namespace agentrail
