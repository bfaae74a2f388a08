// SPDX-License-Identifier: Apache-2.0
#include "aead_locator.h"

#include <unistd.h>

#include <algorithm>
#include <cinttypes>
#include <cstdio>
#include <map>
#include <set>
#include <vector>

#include "err_sites.h"
#include "tls_locate_cache.h"  // the shared cache directory and atomic writes

namespace agentrail {
namespace {

constexpr uint32_t kLibCipher = 30;  // ERR_LIB_CIPHER
const char kAeadC[] = "/cipher/aead.c";
// aws-lc include/openssl/cipher.h reason codes.
constexpr uint32_t kBadDecrypt = 101, kBufferTooSmall = 103, kInvalidOperation = 112, kOutputAliasesInput = 115,
                   kTooLarge = 117;
// EVP_AEAD_CTX_seal/open(ctx, out, out_len, max_out_len, …) read rdi, rsi,
// rdx and rcx before anything else (err_sites.h).
constexpr int kAeadArgs = 1 | 2 | 4 | 8;
// Format version first: a changed locator must not trust old entries.
const char kMagic[] = "agentrail-aead-v2";

// Codex is linked without a GNU build-id: FNV-1a over the file's size, its
// first 4 KiB (ELF and program headers) and last 64 KiB (section headers and
// .gnu_debuglink with the debug file's CRC) names the build instead.
std::string fileKey(int fd) {
  std::string id = elfBuildId(fd);
  if (!id.empty()) return id;
  off_t size = lseek(fd, 0, SEEK_END);
  if (size <= 0) return "";
  uint64_t h = 1469598103934665603ull;
  auto mix = [&](const uint8_t* p, size_t n) {
    for (size_t i = 0; i < n; i++) h = (h ^ p[i]) * 1099511628211ull;
  };
  mix(reinterpret_cast<const uint8_t*>(&size), sizeof size);
  std::vector<uint8_t> buf(64 * 1024);
  ssize_t n = pread(fd, buf.data(), 4096, 0);
  if (n > 0) mix(buf.data(), size_t(n));
  off_t tail = size > off_t(buf.size()) ? size - off_t(buf.size()) : 0;
  n = pread(fd, buf.data(), buf.size(), tail);
  if (n > 0) mix(buf.data(), size_t(n));
  char hex[17];
  snprintf(hex, sizeof hex, "%016" PRIx64, h);
  return hex;
}

bool has(const std::set<uint32_t>& s, std::initializer_list<uint32_t> want) {
  return std::all_of(want.begin(), want.end(), [&](uint32_t w) { return s.count(w) != 0; });
}

bool load(const std::string& key, AeadLocation& loc) {
  CachedPair e;
  if (!tlsCacheValidId(key) || !tlsCacheLoadPair("aead-" + key, kMagic, e)) return false;
  loc.key = key;
  loc.found = e.found;
  loc.seal = e.a;
  loc.open = e.b;
  loc.seal_scatter = e.c;
  loc.why = e.why;
  return true;
}

void store(const AeadLocation& loc) {
  if (tlsCacheValidId(loc.key)) tlsCacheStorePair("aead-" + loc.key, kMagic, {loc.found, loc.seal, loc.open, loc.why, loc.seal_scatter});
}

bool revalidate(int fd, const AeadLocation& loc) {
  Mapping m;
  Image img;
  Disasm d;
  uint64_t s, o;
  uint64_t sc = 0;
  return loadImage(fd, m, img) && d.ok() && img.offToVa(loc.seal, s) && img.offToVa(loc.open, o) &&
         validateEntry(d, img, s, kAeadArgs) && validateEntry(d, img, o, kAeadArgs) &&
         (loc.seal_scatter == 0 || (img.offToVa(loc.seal_scatter, sc) && validateEntry(d, img, sc, kAeadArgs)));
}

}  // namespace

AeadLocation locateAead(int fd) {
  AeadLocation r;
  r.key = fileKey(fd);
  Mapping m;
  Image img;
  if (!loadImage(fd, m, img)) {
    r.why = "not-x86-64-elf";
    return r;
  }
  std::vector<uint64_t> strv = findPathStrings(img, kAeadC);
  if (strv.empty()) {
    r.why = "no-aead-string";
    return r;
  }
  Disasm d;
  if (!d.ok()) {
    r.why = "capstone-unavailable";
    return r;
  }
  std::vector<ErrSite> sites = findErrSites(d, img, strv, kLibCipher);
  r.sites = uint32_t(sites.size());
  std::map<uint64_t, std::set<uint32_t>> reasons;
  std::map<uint64_t, uint32_t> firstLine;
  for (const ErrSite& s : sites) {
    reasons[s.func].insert(s.reason);
    auto it = firstLine.find(s.func);
    if (it == firstLine.end() || s.line < it->second) firstLine[s.func] = s.line;
  }
  uint64_t seal = 0, open = 0;
  int nseal = 0, nopen = 0;
  for (auto& [fs, rs] : reasons) {
    if (has(rs, {kTooLarge, kBufferTooSmall, kOutputAliasesInput})) {
      seal = fs;
      nseal++;
    }
    if (has(rs, {kOutputAliasesInput, kBadDecrypt, kBufferTooSmall})) {
      open = fs;
      nopen++;
    }
  }
  if (nseal != 1) {
    r.why = nseal == 0 ? "seal-not-recognized" : "seal-ambiguous";
    return r;
  }
  // aead.c defines seal before open; the reverse means the rule met another generation.
  if (nopen != 1 || open == seal || firstLine[open] <= firstLine[seal]) {
    r.why = nopen > 1 ? "open-ambiguous" : "open-not-recognized";
    return r;
  }
  if (!validateEntry(d, img, seal, kAeadArgs) || !validateEntry(d, img, open, kAeadArgs)) {
    r.why = "validation-failed";
    return r;
  }
  if (!img.vaToOff(seal, r.seal) || !img.vaToOff(open, r.open)) {
    r.why = "not-in-file";
    return r;
  }
  // Optional: seal_scatter, the one function with exactly {OUTPUT_ALIASES_INPUT, INVALID_OPERATION}
  // between seal and open in line order.
  uint64_t scatter = 0;
  int nscatter = 0;
  for (auto& [fs, rs] : reasons)
    if (rs == std::set<uint32_t>{kOutputAliasesInput, kInvalidOperation} && firstLine[fs] > firstLine[seal] &&
        firstLine[fs] < firstLine[open]) {
      scatter = fs;
      nscatter++;
    }
  if (nscatter == 1 && validateEntry(d, img, scatter, kAeadArgs)) img.vaToOff(scatter, r.seal_scatter);
  r.found = true;
  return r;
}

AeadLocation locateAeadCached(int fd, bool& cache_hit) {
  AeadLocation loc;
  cache_hit = load(fileKey(fd), loc) && (!loc.found || revalidate(fd, loc));
  if (cache_hit) return loc;
  loc = locateAead(fd);
  if (loc.why != "no-aead-string" && loc.why != "not-x86-64-elf") store(loc);
  return loc;
}

}  // namespace agentrail
