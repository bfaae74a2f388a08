// SPDX-License-Identifier: Apache-2.0
// Symbol lookup in an ELF64 file for the TLS attacher: the file offsets of
// four named functions (0 = absent), from .dynsym and, when present, .symtab
// (static binaries that kept their symbols, e.g. node exporting SSL_*).
#pragma once

#include <cstdint>

namespace agentrail {

// True when at least one of the four was found.
bool findSymbols(int fd, const char* const names[4], uint64_t offs[4]);

}  // namespace agentrail
