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

bool tlsCacheLoad(const std::string& build_id, TlsLocation& loc) {
  if (!tlsCacheValidId(build_id)) return false;
  std::string line = tlsCacheReadLine(build_id);
  char magic[32] = {}, why[64] = {};
  int found = 0;
  uint64_t w = 0, r = 0;
  int n = sscanf(line.c_str(), "%31s %d %" SCNx64 " %" SCNx64 " %63s", magic, &found, &w, &r, why);
  if (n != 5 || std::string(magic) != kMagic) return false;
  loc.build_id = build_id;
  loc.found = found == 1 && w != 0 && r != 0;
  loc.ssl_write = w;
  loc.ssl_read = r;
  loc.why = std::string(why) == "-" ? "" : why;
  return true;
}

void tlsCacheStore(const TlsLocation& loc) {
  if (!tlsCacheValidId(loc.build_id)) return;
  char buf[256];
  snprintf(buf, sizeof buf, "%s %d %" PRIx64 " %" PRIx64 " %s\n", kMagic, loc.found ? 1 : 0, loc.ssl_write, loc.ssl_read,
           loc.why.empty() ? "-" : loc.why.c_str());
  tlsCacheWrite(loc.build_id, buf);
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
