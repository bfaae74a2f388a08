// SPDX-License-Identifier: Apache-2.0
// Finds aws-lc's EVP_AEAD_CTX_seal and EVP_AEAD_CTX_open in a stripped
// x86-64 ELF (Codex: a static-pie musl Rust binary, rustls 0.23 over
// aws-lc-rs), where no symbol names them. rustls seals and opens every TLS
// record through them (aws-lc-rs seal_in_place_append_tag / open_within), so
// their plaintext arguments are the TLS plaintext. Same method as
// boringssl_locator.h: the OPENSSL_PUT_ERROR(CIPHER, reason) sites of
// …/cipher/aead.c are decoded with capstone and grouped per function:
//   seal: the function raising TOO_LARGE, BUFFER_TOO_SMALL and OUTPUT_ALIASES_INPUT
//   open: the function raising OUTPUT_ALIASES_INPUT, BAD_DECRYPT and BUFFER_TOO_SMALL
// (open_gather inlined into it), seal before open in line order;
//   seal_scatter (TLS 1.2): the function raising only OUTPUT_ALIASES_INPUT and
//   INVALID_OPERATION, between seal and open in line order. Each
// candidate is validated before it is reported; a wrong uprobe address would
// corrupt the traced agent.
#pragma once

#include <cstdint>
#include <string>

namespace agentrail {

struct AeadLocation {
  bool found = false;
  std::string why;      // on failure: stable reason (e.g. "no-aead-string", "seal-not-recognized")
  std::string key;      // cache key: GNU build-id, else a digest of the file's head, tail and size
  uint64_t seal = 0;    // file offsets of the function entries
  uint64_t open = 0;
  uint64_t seal_scatter = 0;  // 0 when not recognized: TLS 1.2 egress (rustls' GCM) is then not captured
  uint32_t sites = 0;   // aead.c error sites decoded
};

AeadLocation locateAead(int fd);

// The build-id cache in front of locateAead (tls_locate_cache.h directory,
// files "aead-<key>"); positive entries are re-validated against the file.
// Files without aws-lc's aead.c are neither cached nor a hit.
AeadLocation locateAeadCached(int fd, bool& cache_hit);

}  // namespace agentrail
