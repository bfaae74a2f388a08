// SPDX-License-Identifier: Apache-2.0
#include "tls_attacher.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include <cstdio>
#include <cstring>
#include <mutex>
#include <thread>

#include "agentrail_abi.h"
#include "boringssl_locator.h"
#include "elf_symbols.h"
#include "launch_targets.h"
#include "mono_clock.h"
#include "tls_locate_cache.h"

namespace agentrail {
namespace {

// Order matches progs_: entry/return pairs.
const char* const kFuncs[4] = {"SSL_write", "SSL_read", "SSL_write_ex", "SSL_read_ex"};
const char* const kProgs[8] = {
    "handle_ssl_write",    "handle_ssl_write_ret",    "handle_ssl_read",    "handle_ssl_read_ret",
    "handle_ssl_write_ex", "handle_ssl_write_ex_ret", "handle_ssl_read_ex", "handle_ssl_read_ex_ret",
};

uint64_t kernelDev(dev_t d) { return (uint64_t(major(d)) << 20) | uint64_t(minor(d)); }

struct MapEntry {
  uint64_t kdev;
  uint64_t ino;
  std::string path;
};

std::vector<MapEntry> readMaps(uint32_t pid) {
  std::vector<MapEntry> out;
  char fn[64];
  snprintf(fn, sizeof fn, "/proc/%u/maps", pid);
  FILE* f = fopen(fn, "re");
  if (!f) return out;
  char line[4096 + 256];
  while (fgets(line, sizeof line, f)) {
    // start-end perms offset major:minor inode path
    char perms[8];
    unsigned maj = 0, min = 0;
    unsigned long long ino = 0;
    int pathpos = 0;
    if (sscanf(line, "%*x-%*x %7s %*x %x:%x %llu %n", perms, &maj, &min, &ino, &pathpos) < 4) continue;
    if (ino == 0 || pathpos == 0 || perms[2] != 'x') continue;
    std::string path(line + pathpos);
    while (!path.empty() && (path.back() == '\n' || path.back() == ' ')) path.pop_back();
    if (path.empty() || path[0] != '/') continue;
    if (path.size() > 10 && path.compare(path.size() - 10, 10, " (deleted)") == 0) continue;
    out.push_back({(uint64_t(maj) << 20) | min, ino, path});
  }
  fclose(f);
  return out;
}

}  // namespace

TlsAttacher::TlsAttacher(bpf_object* obj) : go_(obj), aead_(obj) {
  for (int i = 0; i < 8; i++) progs_[i] = obj ? bpf_object__find_program_by_name(obj, kProgs[i]) : nullptr;
}

TlsAttacher::~TlsAttacher() { detachAll(); }

void TlsAttacher::detachAll() {
  // Detaching a uprobe waits for RCU grace periods in the kernel (~0.25 s per
  // link on this machine): 16 links in a row take 4 s. Destroy them in
  // parallel on a detached thread so Sensor.stop() does not wait. Until they
  // are gone the probes only write into this Sensor's own (unread) ring
  // buffer; nothing else of the Sensor is touched. If the process exits
  // first, the kernel releases the remaining links when it closes their fds.
  stopWorker();
  std::vector<bpf_link*> links;
  {
    std::lock_guard<std::mutex> g(links_mu_);
    links.swap(links_);
  }
  seen_.clear();
  pending_.clear();
  if (links.empty()) return;
  auto destroyAll = [](std::vector<bpf_link*> ls) {
    std::vector<std::thread> threads;
    threads.reserve(ls.size());
    for (bpf_link* l : ls) {
      try {
        threads.emplace_back([l] { bpf_link__destroy(l); });
      } catch (...) {
        bpf_link__destroy(l);  // no thread available: do it here
      }
    }
    for (std::thread& t : threads) t.join();
  };
  try {
    std::thread(destroyAll, std::move(links)).detach();
  } catch (...) {
    destroyAll(std::move(links));
  }
}

void TlsAttacher::on_start(const SensorContext& ctx) {
  // The Sensor runs inside node: /proc/self/exe is the node binary that
  // traced node children most likely run too.
  std::vector<std::string> extra;
  char exe[4096];
  ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
  if (n > 0) extra.emplace_back(exe, size_t(n));
  attachWellKnown(extra);
  if (ctx.trace_all) {
    scanAllProcesses();
    return;
  }
  // Processes already traced at start.
  if (ctx.pids_fd >= 0) {
    uint32_t key = 0, next = 0;
    uint32_t* prev = nullptr;
    while (bpf_map_get_next_key(ctx.pids_fd, prev, &next) == 0) {
      scanTracedPid(next);
      key = next;
      prev = &key;
    }
  }
  if (ctx.cgroups_fd >= 0) {
    uint64_t cg = 0;
    if (bpf_map_get_next_key(ctx.cgroups_fd, nullptr, &cg) == 0) on_cgroup_added(cg);
  }
}

void TlsAttacher::on_cgroup_added(uint64_t cgroup_id) {
  // Mapping cgroup ids to pids needs a cgroupfs walk; scanning every process
  // is simpler and cached per (dev, ino), so repeated calls are cheap.
  (void)cgroup_id;
  scanAllProcesses();
}

void TlsAttacher::counters(std::vector<std::pair<std::string, uint64_t>>& out) const {
  Stats s = stats();
  out.emplace_back("tls_files_attached", s.files_attached);
  out.emplace_back("tls_probes_attached", s.probes_attached);
  out.emplace_back("tls_attach_failures", s.attach_failures);
  out.emplace_back("tls_files_scanned", s.files_scanned);
  out.emplace_back("tls_attach_ns_total", s.attach_ns_total);
  out.emplace_back("tls_attach_ns_max", s.attach_ns_max);
  out.emplace_back("tls_record_to_attach_ns_max", s.record_to_attach_ns_max);
  out.emplace_back("tls_stripped_located", stripped_located_.load());
  out.emplace_back("tls_stripped_cache_hits", stripped_cache_hits_.load());
  out.emplace_back("tls_stripped_unrecognized", stripped_unrecognized_.load());
  out.emplace_back("tls_locate_ns_max", locate_ns_max_.load());
  out.emplace_back("tls_preattached_files", preattached_.load());
  out.emplace_back("tls_coverage_evicted", coverage_.evicted());
  out.emplace_back("tls_coverage_version", coverage_.version());
  out.emplace_back("tls_worker_jobs", worker_jobs_.load());
  out.emplace_back("tls_worker_queue_peak", worker_queue_peak_.load());
  out.emplace_back("tls_worker_queue_full_inline", worker_queue_full_.load());
  out.emplace_back("tls_worker_wait_ns_max", worker_wait_ns_max_.load());
  out.emplace_back("tls_worker_files_attached", files_attached_deferred_.load());
  out.emplace_back("tls_poll_record_ns_max", poll_record_ns_max_.load());
  go_.counters(out);
  aead_.counters(out);  // codex2: aws-lc AEAD probes (aead_probes.h)
}

namespace {

// The file's own name as the sensor sees it (the held fd's link target).
std::string realPathOf(int fd, const std::string& fallback) {
  char buf[4096];
  std::string link = "/proc/self/fd/" + std::to_string(fd);
  ssize_t n = readlink(link.c_str(), buf, sizeof buf - 1);
  return n > 0 ? std::string(buf, size_t(n)) : fallback;
}

std::string baseName(const std::string& p) {
  size_t s = p.rfind('/');
  return s == std::string::npos ? p : p.substr(s + 1);
}

// A runtime name for the verdict table from what was found and the file name.
std::string runtimeOf(const std::string& path, const std::string& library) {
  std::string b = baseName(path);
  if (library == "go-crypto-tls") return "go";
  if (library == "boringssl-stripped") return "bun";
  if (library == "aws-lc") return "rust";
  if (b.rfind("libssl", 0) == 0) return "shared-library";
  if (b.find("node") != std::string::npos) return "node";
  if (b.rfind("python", 0) == 0) return "python";
  if (b == "bun") return "bun";
  return library == "openssl" ? "static-openssl" : "native";
}

// The locator found BoringSSL's ssl_lib.cc (recognized or not): otherwise the file is no candidate.
bool carriesBoringSsl(const TlsLocation& loc) { return loc.why != "no-ssl-lib-string" && loc.why != "not-x86-64-elf"; }

}  // namespace

bool TlsAttacher::attachFile(const std::string& path, const FileKey& key, bool exe) {
  if (!seen_.insert(key).second) return false;
  files_scanned_++;
  uint64_t t0 = monoNs();
  // Hold the file open and attach through /proc/self/fd/N: the path we were
  // given (/proc/<pid>/fd/N, /proc/<pid>/root/...) may vanish mid-way when the
  // loader closes its fd or the process exits.
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  Job job{fd, key, exe, path, t0};
  uint64_t offs[4];
  if (findSymbols(fd, kFuncs, offs) && (offs[0] != 0 || offs[1] != 0)) return attachSymbols(job, offs);  // ELF symbols: cheap, here
  // No SSL_* symbol: a Go executable or stripped BoringSSL, found by a
  // capstone pass of up to ~0.3 s: on the worker, so the poll thread keeps
  // draining the ring buffer, unless the caller must wait (a stopped launch).
  if (sync_ || !enqueue(job)) return locateAndAttach(job);
  return false;
}

bool TlsAttacher::enqueue(const Job& job) {
  std::lock_guard<std::mutex> g(jobs_mu_);
  if (stopping_) return false;
  if (jobs_.size() >= kMaxJobs) {
    worker_queue_full_++;
    return false;
  }
  if (!worker_.joinable()) {
    try {
      worker_ = std::thread([this] { workerLoop(); });
    } catch (...) {
      return false;  // no thread: the caller does it inline
    }
  }
  jobs_.push_back(job);
  worker_jobs_++;
  storeMax(worker_queue_peak_, jobs_.size());
  jobs_cv_.notify_one();
  return true;
}

void TlsAttacher::workerLoop() {
  for (;;) {
    Job job;
    {
      std::unique_lock<std::mutex> lk(jobs_mu_);
      jobs_cv_.wait(lk, [this] { return stopping_ || !jobs_.empty(); });
      if (stopping_) return;  // stopWorker() closes what is left
      job = jobs_.front();
      jobs_.pop_front();
    }
    storeMax(worker_wait_ns_max_, monoNs() - job.t0);
    if (locateAndAttach(job)) files_attached_deferred_++;
  }
}

void TlsAttacher::stopWorker() {
  {
    std::lock_guard<std::mutex> g(jobs_mu_);
    stopping_ = true;
    jobs_cv_.notify_all();
  }
  if (worker_.joinable()) worker_.join();
  for (const Job& j : jobs_) close(j.fd);
  jobs_.clear();
}

void TlsAttacher::keepLinks(std::vector<bpf_link*>& mine) {
  std::lock_guard<std::mutex> g(links_mu_);
  links_.insert(links_.end(), mine.begin(), mine.end());
  probes_attached_ += mine.size();
  mine.clear();
}

// Every executable gets a verdict; a library only when it carries TLS.
bool TlsAttacher::finish(const Job& job, BinaryVerdict& v, bool attached) {
  uint64_t dt = monoNs() - job.t0;
  attach_ns_total_ += dt;
  storeMax(attach_ns_max_, dt);
  if (attached) files_attached_++;
  if (job.exe || v.library != "none") {
    v.dev = job.key.first;
    v.ino = job.key.second;
    v.path = realPathOf(job.fd, job.path);
    if (v.runtime.empty()) v.runtime = runtimeOf(v.path, v.library);
    v.locate_ns = dt;
    coverage_.record(std::move(v));
  }
  close(job.fd);
  return attached;
}

bool TlsAttacher::attachSymbols(const Job& job, const uint64_t offs[4]) {
  BinaryVerdict v;
  v.library = "openssl";
  v.build_id = elfBuildId(job.fd);
  v.reason = "SSL_write/SSL_read(_ex) symbols";
  return attachSsl(job, offs, v);
}

bool TlsAttacher::attachSsl(const Job& job, const uint64_t offs[4], BinaryVerdict& v) {
  const std::string held = "/proc/self/fd/" + std::to_string(job.fd);
  std::vector<bpf_link*> mine;
  for (int f = 0; f < 4; f++) {
    if (offs[f] == 0) continue;
    for (int r = 0; r < 2; r++) {
      bpf_program* p = progs_[f * 2 + r];
      if (!p) {
        attach_failures_++;
        continue;
      }
      LIBBPF_OPTS(bpf_uprobe_opts, o, .retprobe = (r == 1));
      bpf_link* l = bpf_program__attach_uprobe_opts(p, -1, held.c_str(), size_t(offs[f]), &o);
      if (!l) {
        attach_failures_++;
        continue;
      }
      mine.push_back(l);
    }
  }
  v.probes = uint32_t(mine.size());
  v.state = mine.empty() ? "failed" : "attached";
  if (mine.empty()) v.reason += "; uprobe attach failed";
  bool ok = !mine.empty();
  keepLinks(mine);
  return finish(job, v, ok);
}

bool TlsAttacher::locateAndAttach(const Job& job) {
  const std::string held = "/proc/self/fd/" + std::to_string(job.fd);
  BinaryVerdict v;
  std::vector<bpf_link*> mine;
  GoTlsProbes::Result g = go_.attach(job.fd, held, mine, attach_failures_, &v.build_id, &v.reason);
  if (g != GoTlsProbes::Result::NotGo) {
    if (g == GoTlsProbes::Result::Unrecognized) stripped_unrecognized_++;  // same warning as any unknown TLS
    v.probes = uint32_t(mine.size());
    keepLinks(mine);
    v.library = g == GoTlsProbes::Result::NoCryptoTls ? "none" : "go-crypto-tls";
    v.state = g == GoTlsProbes::Result::Attached       ? "attached"
              : g == GoTlsProbes::Result::NoCryptoTls ? "no-tls"
              : g == GoTlsProbes::Result::Failed      ? "failed"
                                                      : "unrecognized";
    if (g == GoTlsProbes::Result::NoCryptoTls) v.runtime = "go";
    return finish(job, v, g == GoTlsProbes::Result::Attached);
  }
  uint64_t offs[4];
  TlsLocation loc;
  bool found = locateStripped(job.fd, offs, loc);
  v.build_id = loc.build_id;
  if (!found) {
    bool boringssl = carriesBoringSsl(loc);
    if (!boringssl) {
      // No BoringSSL libssl: maybe stripped aws-lc (rustls over aws-lc-rs: Codex), aead_probes.h.
      // Only here: BoringSSL carries an aead.c too, and its SSL_* hooks are the better ones.
      AeadProbes::Result a = aead_.attach(job.fd, held, mine, attach_failures_);
      if (a != AeadProbes::Result::NotAwsLc) {
        if (a == AeadProbes::Result::Unrecognized) stripped_unrecognized_++;  // same warning as any unknown TLS
        v.probes = uint32_t(mine.size());
        keepLinks(mine);
        v.library = "aws-lc";
        v.runtime = "rust";
        v.build_id = elfBuildId(job.fd);
        v.state = a == AeadProbes::Result::Attached ? "attached" : a == AeadProbes::Result::Failed ? "failed" : "unrecognized";
        v.reason = a == AeadProbes::Result::Attached ? "EVP_AEAD_CTX_seal/open located from cipher/aead.c error sites"
                   : a == AeadProbes::Result::Failed ? "uprobe attach failed"
                                                     : "aws-lc cipher/aead.c present, EVP_AEAD_CTX_seal/open not validated";
        return finish(job, v, a == AeadProbes::Result::Attached);
      }
    }
    v.library = boringssl ? "boringssl-stripped" : "none";
    v.state = boringssl ? "unrecognized" : "no-tls";
    v.reason = boringssl ? loc.why : "no SSL_* symbols, no Go crypto/tls, no BoringSSL ssl_lib.cc, no aws-lc aead.c (TLS, if any, comes from a shared library listed separately)";
    return finish(job, v, false);
  }
  v.library = "boringssl-stripped";
  v.reason = "SSL_write/SSL_read located from ssl_lib.cc error sites";
  return attachSsl(job, offs, v);
}

// No SSL_* symbols: a stripped binary may still carry BoringSSL (Bun and
// `bun build --compile` executables). Cached by build-id; the capstone pass
// (~0.2 s per 100 MB) runs once per build.
bool TlsAttacher::locateStripped(int fd, uint64_t offs[4], TlsLocation& loc) {
  uint64_t t0 = monoNs();
  bool hit = false;
  loc = locateCached(fd, hit);
  // Files without BoringSSL's ssl_lib.cc are not candidates: not counted.
  if (!carriesBoringSsl(loc)) return false;
  if (hit) stripped_cache_hits_++;
  else storeMax(locate_ns_max_, monoNs() - t0);
  if (!loc.found) {
    stripped_unrecognized_++;
    return false;
  }
  stripped_located_++;
  offs[0] = loc.ssl_write;
  offs[1] = loc.ssl_read;
  offs[2] = offs[3] = 0;
  return true;
}

int TlsAttacher::attachPath(const std::string& path, uint32_t pid, bool exe) {
  std::string p = path;
  struct stat st;
  if (pid != 0) {
    std::string viaRoot = "/proc/" + std::to_string(pid) + "/root" + path;
    if (stat(viaRoot.c_str(), &st) == 0) p = viaRoot;
    else if (stat(path.c_str(), &st) != 0) return 0;
  } else if (stat(path.c_str(), &st) != 0) {
    return 0;
  }
  if (!S_ISREG(st.st_mode)) return 0;
  return attachFile(p, {kernelDev(st.st_dev), uint64_t(st.st_ino)}, exe) ? 1 : 0;
}

int TlsAttacher::attachWellKnown(const std::vector<std::string>& extra) {
  int n = 0;
  std::vector<std::string> paths = extra;
  paths.push_back("/usr/bin/node");
  paths.push_back("/usr/local/bin/node");
  if (FILE* f = popen("ldconfig -p 2>/dev/null", "re")) {
    char line[1024];
    while (fgets(line, sizeof line, f)) {
      if (!strstr(line, "libssl")) continue;
      const char* arrow = strstr(line, "=> ");
      if (!arrow) continue;
      std::string p(arrow + 3);
      while (!p.empty() && (p.back() == '\n' || p.back() == ' ')) p.pop_back();
      paths.push_back(p);
    }
    pclose(f);
  }
  // The extra paths (the sensor's own node) and node itself are executables.
  for (size_t i = 0; i < paths.size(); i++) n += attachPath(paths[i], 0, i < extra.size() + 2);
  return n;
}

int TlsAttacher::scanPid(uint32_t pid) {
  int n = 0;
  struct stat xs;
  std::string exeLink = "/proc/" + std::to_string(pid) + "/exe";
  FileKey exeKey{0, 0};
  if (stat(exeLink.c_str(), &xs) == 0) exeKey = {kernelDev(xs.st_dev), uint64_t(xs.st_ino)};
  for (const MapEntry& e : readMaps(pid)) {
    FileKey key{e.kdev, e.ino};
    if (seen_.count(key)) continue;
    // Reach the file in the process's mount namespace; fall back to the plain path.
    std::string viaRoot = "/proc/" + std::to_string(pid) + "/root" + e.path;
    struct stat st;
    std::string p = stat(viaRoot.c_str(), &st) == 0 ? viaRoot : e.path;
    if (attachFile(p, key, key == exeKey || e.ino == exeKey.second)) n++;
  }
  return n;
}

int TlsAttacher::scanTracedPid(uint32_t pid) {
  // The launcher is stopped until this returns: locate inline so the
  // command's first TLS call is captured.
  sync_ = true;
  int n = scanPid(pid);
  for (const std::string& t : stoppedExecTargets(pid)) {
    int got = attachPath(t, 0, true);
    preattached_ += uint64_t(got);
    n += got;
  }
  sync_ = false;
  return n;
}

int TlsAttacher::scanAllProcesses() {
  int n = 0;
  DIR* d = opendir("/proc");
  if (!d) return 0;
  while (dirent* de = readdir(d)) {
    char* end = nullptr;
    unsigned long pid = strtoul(de->d_name, &end, 10);
    if (!end || *end != '\0' || pid == 0) continue;
    n += scanPid(uint32_t(pid));
  }
  closedir(d);
  return n;
}

// AR_OP_PROC_MMAP_EXEC is emitted at mmap() entry, while the mapping does not
// exist yet but the fd is open (the dynamic loader closes it right after
// mapping). So: try the fd first (/proc/<pid>/fd/<fd> reaches the file in any
// mount namespace), then /proc/<pid>/maps, then retry on the next ticks.
bool TlsAttacher::tryViaFd(uint32_t pid, int32_t fd, const FileKey& key) {
  if (fd < 0) return false;
  std::string p = "/proc/" + std::to_string(pid) + "/fd/" + std::to_string(fd);
  int own = open(p.c_str(), O_RDONLY | O_CLOEXEC);  // keeps the file while we look at it
  if (own < 0) return false;
  struct stat st;
  if (fstat(own, &st) != 0 || !S_ISREG(st.st_mode)) {
    close(own);
    return false;
  }
  p = "/proc/self/fd/" + std::to_string(own);
  struct Closer {
    int fd;
    ~Closer() { close(fd); }
  } closer{own};
  FileKey statKey{kernelDev(st.st_dev), uint64_t(st.st_ino)};
  if (statKey != key && uint64_t(st.st_ino) != key.second) return false;  // fd reused meanwhile
  if (seen_.count(statKey)) {
    seen_.insert(key);
    return true;
  }
  attachFile(p, statKey);
  seen_.insert(key);  // the record's key (overlayfs may report another device)
  return true;
}

void TlsAttacher::onRecord(const ar_hdr* h, size_t len) {
  if (len < sizeof(ar_hdr)) return;
  if (h->op != AR_OP_PROC_MMAP_EXEC && h->op != AR_OP_PROC_EXEC) return;
  uint64_t t0 = monoNs();
  handleRecord(h, len);
  storeMax(poll_record_ns_max_, monoNs() - t0);  // how long the poll thread was held
}

void TlsAttacher::handleRecord(const ar_hdr* h, size_t len) {
  size_t before = files_attached_.load();
  if (h->op == AR_OP_PROC_MMAP_EXEC && len >= sizeof(ar_proc_mmap_exec)) {
    const ar_proc_mmap_exec* m = reinterpret_cast<const ar_proc_mmap_exec*>(h);
    FileKey key{m->dev, m->ino};
    if (seen_.count(key)) return;
    if (!tryViaFd(h->pid, m->fd, key)) {
      scanPid(h->pid);
      if (!seen_.count(key)) pending_.push_back({h->pid, key, monoNs() + 2000000000ull});
    }
  } else if (h->op == AR_OP_PROC_EXEC) {
    scanPid(h->pid);  // the executable itself (node links OpenSSL statically)
    // Gone already (a short-lived command that exited while an earlier locate
    // held this thread): inspect the file by the exec'd path, so it still has
    // a verdict and its next run is probed from the start.
    std::string exeLink = "/proc/" + std::to_string(h->pid) + "/exe";
    struct stat st;
    if (len >= sizeof(ar_proc_exec) && stat(exeLink.c_str(), &st) != 0) {
      const ar_proc_exec* e = reinterpret_cast<const ar_proc_exec*>(h);
      std::string fn(e->filename, strnlen(e->filename, sizeof e->filename));
      if (!fn.empty() && fn[0] == '/') attachPath(fn, 0, true);
    }
  } else {
    return;
  }
  if (files_attached_.load() > before && h->ktime_ns != 0) {
    uint64_t now = monoNs();
    if (now > h->ktime_ns) storeMax(record_to_attach_ns_max_, now - h->ktime_ns);
  }
}

void TlsAttacher::on_tick() {
  if (pending_.empty()) return;
  uint64_t now = monoNs();
  std::vector<Pending> keep;
  for (const Pending& p : pending_) {
    if (seen_.count(p.key)) continue;
    scanPid(p.pid);
    if (!seen_.count(p.key) && now < p.deadline_ns) keep.push_back(p);
  }
  pending_.swap(keep);
}

TlsAttacher::Stats TlsAttacher::stats() const {
  return Stats{files_attached_.load(), probes_attached_.load(),   attach_failures_.load(),
               files_scanned_.load(),  attach_ns_total_.load(),   attach_ns_max_.load(),
               record_to_attach_ns_max_.load()};
}

}  // namespace agentrail
