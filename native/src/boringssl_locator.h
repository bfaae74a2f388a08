// SPDX-License-Identifier: Apache-2.0
// Finds BoringSSL's SSL_write and SSL_read in a stripped x86-64 ELF (Bun and
// every `bun build --compile` executable such as Claude Code), where no
// symbol names them. BoringSSL's OPENSSL_PUT_ERROR(SSL, reason) compiles to
// ERR_put_error(16, 0, reason, "…/ssl/ssl_lib.cc", line): the call sites are
// found by the path string, decoded with capstone (a real disassembler, not
// byte patterns), grouped per function, and the functions are recognized by
// their reason codes:
//   SSL_write: the function whose sites carry reasons {66, 226, 215, 111}
//   SSL_read:  the function holding the reason-66 site just before
//              SSL_write's first site in line order (SSL_peek is inlined).
// Each candidate is validated before it is reported (see validate() in the
// .cc); a wrong uprobe address would corrupt the traced agent.
#pragma once

#include <cstdint>
#include <string>

#include "err_sites.h"  // elfBuildId

namespace agentrail {

struct TlsLocation {
  bool found = false;
  std::string why;        // on failure: stable reason (e.g. "no-ssl-lib-string")
  std::string build_id;   // hex GNU build-id ("" when the note is missing)
  uint64_t ssl_write = 0; // file offsets of the function entries
  uint64_t ssl_read = 0;
  uint32_t sites = 0;     // ssl_lib.cc error sites decoded
};

// fd: an open ELF file. Reads it through a private read-only mapping.
TlsLocation locateBoringSsl(int fd);

// Re-checks cached offsets against this file (entry validation only): a
// cache entry is trusted only if the entries still look like the functions.
bool revalidateBoringSsl(int fd, const TlsLocation& loc);

}  // namespace agentrail
