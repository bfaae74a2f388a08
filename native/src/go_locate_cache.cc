// SPDX-License-Identifier: Apache-2.0
#include "go_locate_cache.h"

#include <cinttypes>
#include <cstdio>
#include <sstream>

#include "tls_locate_cache.h"  // the shared cache directory and atomic writes

namespace agentrail {
namespace {

// Format version first: a changed locator must not trust old entries.
const char kMagic[] = "agentrail-gotls-v1";

bool load(const std::string& build_id, GoTlsLocation& loc) {
  if (!tlsCacheValidId(build_id)) return false;
  std::istringstream in(tlsCacheReadLine("go-" + build_id));
  std::string magic, version, why;
  int found = 0;
  size_t nrets = 0;
  in >> magic >> found >> std::hex >> loc.write >> loc.read >> loc.write_end >> loc.read_end >> std::dec >> nrets;
  if (!in || magic != kMagic || nrets > 64) return false;
  loc.read_rets.resize(nrets);
  for (uint64_t& r : loc.read_rets) in >> std::hex >> r;
  in >> version >> why;
  if (!in) return false;
  loc.build_id = build_id;
  loc.is_go = true;
  loc.found = found == 1 && loc.write != 0 && loc.read != 0 && nrets > 0;
  loc.go_version = version == "-" ? "" : version;
  loc.why = why == "-" ? "" : why;
  return true;
}

void store(const GoTlsLocation& loc) {
  if (!tlsCacheValidId(loc.build_id)) return;
  std::ostringstream out;
  out << kMagic << ' ' << (loc.found ? 1 : 0) << std::hex << ' ' << loc.write << ' ' << loc.read << ' ' << loc.write_end << ' '
      << loc.read_end << std::dec << ' ' << loc.read_rets.size() << std::hex;
  for (uint64_t r : loc.read_rets) out << ' ' << r;
  out << ' ' << (loc.go_version.empty() ? "-" : loc.go_version) << ' ' << (loc.why.empty() ? "-" : loc.why) << '\n';
  tlsCacheWrite("go-" + loc.build_id, out.str());
}

}  // namespace

GoTlsLocation locateGoCached(int fd, bool& cache_hit) {
  cache_hit = false;
  bool is_go = false;
  std::string key = goBuildKey(fd, is_go);
  if (!is_go) {
    GoTlsLocation r;
    r.why = "not-go";
    return r;
  }
  GoTlsLocation loc;
  if (load(key, loc) && (!loc.found || revalidateGoTls(fd, loc))) {
    cache_hit = true;
    return loc;
  }
  loc = locateGoTls(fd);
  if (loc.is_go) store(loc);
  return loc;
}

}  // namespace agentrail
