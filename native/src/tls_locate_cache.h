// SPDX-License-Identifier: Apache-2.0
// Remembers where the TLS functions of a stripped binary are, keyed by its
// GNU build-id, so that discovery (a capstone pass over a 100-400 MB file)
// runs once per build: Claude Code updates itself and each version is a new
// build-id. One small text file per build-id under the cache directory
// ($AGENTRAIL_TLS_CACHE_DIR, default /var/cache/agentrail/tls). Negative
// results are cached too, so an unrecognized binary is not rescanned.
#pragma once

#include <cstdint>
#include <string>

#include "boringssl_locator.h"

namespace agentrail {

std::string tlsCacheDir();
// A cache key is a lowercase hex build-id of at most 128 characters.
bool tlsCacheValidId(const std::string& id);
// The first line of cache file `name` ("" when absent).
std::string tlsCacheReadLine(const std::string& name);
// Writes cache file `name` atomically (temporary file + rename); best effort.
void tlsCacheWrite(const std::string& name, const std::string& content);
// A "<magic> <found> <hex a> <hex b> <why> [<hex c>]" entry: the format of
// the locators that find two functions (BoringSSL here, aws-lc in
// aead_locator.cc), plus an optional third (0: absent).
struct CachedPair {
  bool found = false;
  uint64_t a = 0, b = 0;
  std::string why;
  uint64_t c = 0;
};
bool tlsCacheLoadPair(const std::string& name, const char* magic, CachedPair& e);
void tlsCacheStorePair(const std::string& name, const char* magic, const CachedPair& e);
// True when an entry for loc.build_id exists; fills found/why/offsets.
bool tlsCacheLoad(const std::string& build_id, TlsLocation& loc);
// Best effort: a failed write only costs a rescan next time.
void tlsCacheStore(const TlsLocation& loc);

// The cache in front of locateBoringSsl: a cached entry (re-validated when
// positive) or a fresh locate, stored when the file carries BoringSSL.
// cache_hit tells which. Files without ssl_lib.cc are neither cached nor a hit.
TlsLocation locateCached(int fd, bool& cache_hit);

}  // namespace agentrail
