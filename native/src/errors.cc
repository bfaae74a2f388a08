#include "errors.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <string>

namespace agentrail {
namespace {

constexpr int kCapSysAdmin = 21;
constexpr int kCapPerfmon = 38;
constexpr int kCapBpf = 39;

const char* kPermHint = "run as root or grant CAP_BPF,CAP_PERFMON (setcap or the container's securityContext)";

uint64_t effective_caps() {
  std::ifstream f("/proc/self/status");
  std::string line;
  while (std::getline(f, line)) {
    if (line.rfind("CapEff:", 0) == 0) return std::stoull(line.substr(7), nullptr, 16);
  }
  return 0;
}

bool has(uint64_t caps, int cap) { return (caps >> cap) & 1; }

bool dir_nonempty(const char* path) {
  struct stat st;
  return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

}  // namespace

void preflight() {
  uint64_t caps = effective_caps();
  bool bpf_ok = has(caps, kCapSysAdmin) || (has(caps, kCapBpf) && has(caps, kCapPerfmon));
  if (!bpf_ok) {
    throw SensorError("PERM_BPF", EPERM, "preflight",
                      "the sensor lacks the privileges to load eBPF programs (needs CAP_BPF and CAP_PERFMON)",
                      kPermHint);
  }
  struct stat st;
  if (stat("/sys/kernel/btf/vmlinux", &st) != 0) {
    throw SensorError("UNAVAILABLE_BTF", errno, "preflight", "the kernel exposes no BTF (/sys/kernel/btf/vmlinux is missing)",
                      "use a kernel built with CONFIG_DEBUG_INFO_BTF=y (5.8 or newer), or the bpftrace collector");
  }
  if (!dir_nonempty("/sys/kernel/tracing/events/syscalls") && !dir_nonempty("/sys/kernel/debug/tracing/events/syscalls")) {
    throw SensorError("UNAVAILABLE_TRACEFS", ENOENT, "preflight", "tracefs is not mounted (no /sys/kernel/tracing/events)",
                      "mount it: mount -t tracefs tracefs /sys/kernel/tracing (in Kubernetes, mount the host's /sys/kernel/tracing)");
  }
}

SensorError bpf_error(const std::string& step, int err, const std::string& what) {
  if (err < 0) err = -err;
  std::string msg = what + ": " + std::strerror(err);
  if (err == EPERM || err == EACCES) return SensorError("PERM_BPF", err, step, msg, kPermHint);
  if (err == ENOENT && step.rfind("open", 0) == 0)
    return SensorError("NOT_BUILT", err, step, msg, "build the BPF objects: npm run build:bpf");
  if (err == E2BIG || err == ENOMEM)
    return SensorError("BPF_LIMIT", err, step, msg, "lower ringBytes or raise RLIMIT_MEMLOCK (CAP_SYS_RESOURCE)");
  return SensorError("BPF_" + std::string(err == EINVAL ? "INVALID" : "FAILED"), err, step, msg,
                     "set AGENTRAIL_LIBBPF_DEBUG=1 to print the libbpf/verifier log to stderr");
}

}  // namespace agentrail
