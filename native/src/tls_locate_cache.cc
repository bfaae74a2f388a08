// SPDX-License-Identifier: Apache-2.0
#include "tls_locate_cache.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cinttypes>
#include <cstdio>
#include <cstdlib>

namespace agentrail {
namespace {

// Format version first: a changed locator must not trust old entries.
const char kMagic[] = "agentrail-tls-v1";

void mkdirs(const std::string& dir) {
  for (size_t i = 1; i <= dir.size(); i++)
    if (i == dir.size() || dir[i] == '/') mkdir(dir.substr(0, i).c_str(), 0700);
}

}  // namespace

std::string tlsCacheDir() {
  const char* d = getenv("AGENTRAIL_TLS_CACHE_DIR");
  return d && *d ? std::string(d) : std::string("/var/cache/agentrail/tls");
}

bool tlsCacheValidId(const std::string& id) {
  if (id.empty() || id.size() > 128) return false;
  for (char c : id)
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  return true;
}

std::string tlsCacheReadLine(const std::string& name) {
  FILE* f = fopen((tlsCacheDir() + "/" + name).c_str(), "re");
  if (!f) return "";
  char line[4096];
  std::string out = fgets(line, sizeof line, f) ? line : "";
  fclose(f);
  return out;
}

void tlsCacheWrite(const std::string& name, const std::string& content) {
  std::string dir = tlsCacheDir();
  mkdirs(dir);
  std::string path = dir + "/" + name;
  std::string tmp = path + ".tmp." + std::to_string(getpid());
  FILE* f = fopen(tmp.c_str(), "we");
  if (!f) return;
  bool ok = fwrite(content.data(), 1, content.size(), f) == content.size();
  ok = fclose(f) == 0 && ok;
  if (ok) rename(tmp.c_str(), path.c_str());  // atomic: readers see old or new, never half
  else unlink(tmp.c_str());
}

bool tlsCacheLoadPair(const std::string& name, const char* magic, CachedPair& e) {
  std::string line = tlsCacheReadLine(name);
  char m[32] = {}, why[64] = {};
  int found = 0;
  uint64_t x = 0, y = 0, z = 0;
  int n = sscanf(line.c_str(), "%31s %d %" SCNx64 " %" SCNx64 " %63s %" SCNx64, m, &found, &x, &y, why, &z);
  if (n < 5 || std::string(m) != magic) return false;
  e.c = n == 6 ? z : 0;
  e.found = found == 1 && x != 0 && y != 0;
  e.a = x;
  e.b = y;
  e.why = std::string(why) == "-" ? "" : why;
  return true;
}

void tlsCacheStorePair(const std::string& name, const char* magic, const CachedPair& e) {
  char buf[256];
  int n = snprintf(buf, sizeof buf, "%s %d %" PRIx64 " %" PRIx64 " %s", magic, e.found ? 1 : 0, e.a, e.b,
                   e.why.empty() ? "-" : e.why.c_str());
  if (n > 0 && size_t(n) < sizeof buf)
    snprintf(buf + n, sizeof buf - size_t(n), e.c ? " %" PRIx64 "\n" : "\n", e.c);
  tlsCacheWrite(name, buf);
}

bool tlsCacheLoad(const std::string& build_id, TlsLocation& loc) {
  CachedPair e;
  if (!tlsCacheValidId(build_id) || !tlsCacheLoadPair(build_id, kMagic, e)) return false;
  loc.build_id = build_id;
  loc.found = e.found;
  loc.ssl_write = e.a;
  loc.ssl_read = e.b;
  loc.why = e.why;
  return true;
}

void tlsCacheStore(const TlsLocation& loc) {
  if (tlsCacheValidId(loc.build_id)) tlsCacheStorePair(loc.build_id, kMagic, {loc.found, loc.ssl_write, loc.ssl_read, loc.why});
}

TlsLocation locateCached(int fd, bool& cache_hit) {
  TlsLocation loc;
  cache_hit = tlsCacheLoad(elfBuildId(fd), loc) && (!loc.found || revalidateBoringSsl(fd, loc));
  if (cache_hit) return loc;
  loc = locateBoringSsl(fd);
  if (loc.why != "no-ssl-lib-string" && loc.why != "not-x86-64-elf") tlsCacheStore(loc);
  return loc;
}

}  // namespace agentrail
