// SPDX-License-Identifier: Apache-2.0
#include "launch_targets.h"

#include <dirent.h>
#include <sys/stat.h>

#include <climits>
#include <cstdlib>

#include <cstdio>
#include <fstream>
#include <iterator>

namespace agentrail {
namespace {

constexpr size_t kMaxTargets = 16, kMaxArgs = 64;

std::string readAll(const std::string& path, size_t limit) {
  std::ifstream f(path, std::ios::binary);
  std::string s;
  if (!f) return s;
  s.assign(std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>());
  if (s.size() > limit) s.resize(limit);
  return s;
}

std::vector<std::string> splitNul(const std::string& s) {
  std::vector<std::string> out;
  size_t start = 0;
  for (size_t i = 0; i <= s.size(); i++)
    if (i == s.size() || s[i] == '\0') {
      if (i > start) out.push_back(s.substr(start, i - start));
      start = i + 1;
    }
  return out;
}

bool isStopped(uint32_t pid) {
  std::string st = readAll("/proc/" + std::to_string(pid) + "/stat", 4096);
  size_t close = st.rfind(')');
  return close != std::string::npos && close + 2 < st.size() && st[close + 2] == 'T';
}

bool executableFile(const std::string& p) {
  struct stat st;
  return stat(p.c_str(), &st) == 0 && S_ISREG(st.st_mode) && (st.st_mode & 0111) != 0;
}


// The native binaries an npm launcher script runs. Codex (@openai/codex)
// ships a Node script `bin/codex.js` that spawns the real executable from a
// platform package, the optionalDependencies convention:
//   <node_modules>/<scope>/<pkg>-linux-<arch>/vendor/<triple>/bin/<exe>
// (also nested under <pkg>/node_modules). Probing them before the launcher
// resumes means the child's first TLS connection is captured even on first
// sight of the binary (locating aws-lc in Codex takes ~0.6 s).
void npmPlatformBinaries(const std::string& script, std::vector<std::string>& out) {
  char real[PATH_MAX];
  if (!realpath(script.c_str(), real)) return;
  std::string p(real);
  size_t bin = p.rfind("/bin/");
  if (bin == std::string::npos || p.find("/node_modules/") == std::string::npos) return;
  if (readAll(p, 2).compare(0, 2, "#!") != 0) return;  // a binary: exec'd directly
  const std::string pkgDir = p.substr(0, bin);          // <node_modules>/<scope>/<pkg>
  const std::string pkg = pkgDir.substr(pkgDir.rfind('/') + 1);
  const std::string scopeDir = pkgDir.substr(0, pkgDir.rfind('/'));
  const std::string scope = scopeDir.substr(scopeDir.rfind('/') + 1);
#if defined(__x86_64__)
  const std::string plat = pkg + "-linux-x64";
#elif defined(__aarch64__)
  const std::string plat = pkg + "-linux-arm64";
#else
  const std::string plat;
#endif
  if (plat.empty()) return;
  const std::string nested = scope[0] == '@' ? pkgDir + "/node_modules/" + scope + "/" + plat : pkgDir + "/node_modules/" + plat;
  for (const std::string& root : {scopeDir + "/" + plat, nested}) {
    DIR* vendor = opendir((root + "/vendor").c_str());
    if (!vendor) continue;
    while (dirent* t = readdir(vendor)) {
      if (t->d_name[0] == '.') continue;
      const std::string binDir = root + "/vendor/" + t->d_name + "/bin";
      DIR* d = opendir(binDir.c_str());
      if (!d) continue;
      while (dirent* e = readdir(d))
        if (e->d_name[0] != '.' && out.size() < kMaxTargets && executableFile(binDir + "/" + e->d_name))
          out.push_back(binDir + "/" + e->d_name);
      closedir(d);
    }
    closedir(vendor);
  }
}

}  // namespace

std::vector<std::string> stoppedExecTargets(uint32_t pid) {
  std::vector<std::string> out;
  if (!isStopped(pid)) return out;
  const std::string proc = "/proc/" + std::to_string(pid);
  std::vector<std::string> args = splitNul(readAll(proc + "/cmdline", 64 * 1024));
  std::string path = "/usr/local/bin:/usr/bin:/bin";
  for (const std::string& e : splitNul(readAll(proc + "/environ", 256 * 1024)))
    if (e.compare(0, 5, "PATH=") == 0) path = e.substr(5);
  std::vector<std::string> dirs;
  for (size_t a = 0, b; a <= path.size(); a = b + 1) {
    b = path.find(':', a);
    if (b == std::string::npos) b = path.size();
    if (b > a && path[a] == '/') dirs.push_back(path.substr(a, b - a));
  }
  // argv[0] is the launcher itself (already mapped, scanned from its maps).
  for (size_t i = 1; i < args.size() && i <= kMaxArgs && out.size() < kMaxTargets; i++) {
    const std::string& arg = args[i];
    if (arg.empty() || arg[0] == '-' || arg.size() > 4096 || arg.find('\n') != std::string::npos) continue;
    std::vector<std::string> tries;
    if (arg[0] == '/') tries.push_back(proc + "/root" + arg);
    else if (arg.find('/') != std::string::npos) tries.push_back(proc + "/cwd/" + arg);
    else
      for (const std::string& d : dirs) tries.push_back(proc + "/root" + d + "/" + arg);
    for (const std::string& t : tries)
      if (executableFile(t)) {
        out.push_back(t);
        npmPlatformBinaries(t, out);
        break;  // execvp takes the first match
      }
  }
  return out;
}

}  // namespace agentrail
