// SPDX-License-Identifier: Apache-2.0
#include "boringssl_locator.h"

#include <algorithm>
#include <map>
#include <set>
#include <vector>

#include "err_sites.h"

namespace agentrail {
namespace {

constexpr uint32_t kLibSsl = 16;  // ERR_LIB_SSL
const char kSslLib[] = "/ssl/ssl_lib.cc";
// SSL_write/SSL_read(SSL*, buf, num) read rdi, rsi and rdx (err_sites.h).
constexpr int kSslArgs = 1 | 2 | 4;

}  // namespace

bool revalidateBoringSsl(int fd, const TlsLocation& loc) {
  Mapping m;
  Image img;
  Disasm d;
  if (!loadImage(fd, m, img) || !d.ok()) return false;
  uint64_t w, r;
  return img.offToVa(loc.ssl_write, w) && img.offToVa(loc.ssl_read, r) && validateEntry(d, img, w, kSslArgs) &&
         validateEntry(d, img, r, kSslArgs);
}

TlsLocation locateBoringSsl(int fd) {
  TlsLocation r;
  r.build_id = elfBuildId(fd);
  Mapping m;
  Image img;
  if (!loadImage(fd, m, img)) {
    r.why = "not-x86-64-elf";
    return r;
  }
  std::vector<uint64_t> strv = findPathStrings(img, kSslLib);
  if (strv.empty()) {
    r.why = "no-ssl-lib-string";
    return r;
  }
  Disasm d;
  if (!d.ok()) {
    r.why = "capstone-unavailable";
    return r;
  }
  std::vector<ErrSite> sites = findErrSites(d, img, strv, kLibSsl);
  r.sites = uint32_t(sites.size());
  if (sites.empty()) {
    r.why = "no-error-sites";
    return r;
  }
  std::map<uint64_t, std::set<uint32_t>> reasons;
  for (const ErrSite& s : sites) reasons[s.func].insert(s.reason);
  const uint32_t want[] = {66, 226, 215, 111};
  uint64_t write = 0;
  int matches = 0;
  for (auto& [fs, rs] : reasons) {
    if (std::all_of(std::begin(want), std::end(want), [&](uint32_t w) { return rs.count(w) != 0; })) {
      write = fs;
      matches++;
    }
  }
  if (matches != 1) {
    r.why = matches == 0 ? "ssl-write-not-recognized" : "ssl-write-ambiguous";
    return r;
  }
  uint32_t writeFirstLine = UINT32_MAX;
  for (const ErrSite& s : sites)
    if (s.func == write) writeFirstLine = std::min(writeFirstLine, s.line);
  uint64_t read = 0;
  uint32_t bestLine = 0;
  for (const ErrSite& s : sites)
    if (s.func != write && s.reason == 66 && s.line < writeFirstLine && s.line > bestLine) {
      bestLine = s.line;
      read = s.func;
    }
  if (read == 0) {
    r.why = "ssl-read-not-recognized";
    return r;
  }
  if (!validateEntry(d, img, write, kSslArgs) || !validateEntry(d, img, read, kSslArgs)) {
    r.why = "validation-failed";
    return r;
  }
  if (!img.vaToOff(write, r.ssl_write) || !img.vaToOff(read, r.ssl_read)) {
    r.why = "not-in-file";
    return r;
  }
  r.found = true;
  return r;
}

}  // namespace agentrail
