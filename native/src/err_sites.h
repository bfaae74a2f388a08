// SPDX-License-Identifier: Apache-2.0
// The shared machinery of the stripped-binary locators (boringssl_locator.cc,
// aead_locator.cc): BoringSSL and aws-lc report errors with
// OPENSSL_PUT_ERROR(LIB, reason), which compiles to
// ERR_put_error(lib, 0, reason, "…/file.c", line) (or the 4-argument form
// without the 0). Such call sites are found by the path string, decoded with
// capstone inside their function, and grouped per function: the set of
// (reason, line) pairs a function raises identifies it without a symbol.
#pragma once

#include <sys/mman.h>

#include <cstdint>
#include <string>
#include <vector>

#include "capstone_disasm.h"

namespace agentrail {

struct Segment {
  uint64_t vaddr, off, filesz;
  bool exec;
};

struct Image {
  const uint8_t* base = nullptr;
  size_t size = 0;
  std::vector<Segment> segs;
  bool vaToOff(uint64_t va, uint64_t& off) const;
  // File offset of executable code back to its virtual address.
  bool offToVa(uint64_t off, uint64_t& va) const;
};

// A private read-only mapping of the whole file, unmapped on scope exit.
struct Mapping {
  void* p = MAP_FAILED;
  size_t n = 0;
  Mapping() = default;
  Mapping(const Mapping&) = delete;
  Mapping& operator=(const Mapping&) = delete;
  ~Mapping();
};

// Maps an x86-64 ELF file and lists its PT_LOAD segments; false otherwise.
bool loadImage(int fd, Mapping& m, Image& img);

struct ErrSite {
  uint64_t func;  // vaddr of the containing function
  uint32_t reason, line;
};

// Virtual addresses of the NUL-terminated strings ending in `suffix` in the
// non-executable segments (empty: the file does not carry that source file).
std::vector<uint64_t> findPathStrings(const Image& img, const char* suffix);

// Every ERR_put_error(lib, …, reason, <one of strs>, line) site, grouped by
// containing function. `sites_decoded` is what was seen before grouping.
std::vector<ErrSite> findErrSites(const Disasm& d, const Image& img, const std::vector<uint64_t>& strs, uint32_t lib);

// A function entry we are willing to put a uprobe on: 16-aligned, a
// recognized first instruction, and some path from the entry that reads every
// argument register of `arg_mask` (bit 0 rdi, 1 rsi, 2 rdx, 3 rcx) before
// losing it, as a function using those arguments must.
bool validateEntry(const Disasm& d, const Image& img, uint64_t fstart, int arg_mask);

// GNU build-id of an open ELF file as hex, "" if absent.
std::string elfBuildId(int fd);

}  // namespace agentrail
