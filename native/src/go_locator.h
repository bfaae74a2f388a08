// SPDX-License-Identifier: Apache-2.0
// Finds Go's crypto/tls.(*Conn).Write and crypto/tls.(*Conn).Read in a Go
// executable, stripped (-ldflags="-s -w") or not. The function table of the
// Go runtime, `.gopclntab`, survives stripping because the runtime needs it
// for stack traces and GC: it names every function with its entry and end.
// Supported header layouts: Go 1.18-1.19 (magic 0xfffffff0) and 1.20+
// (0xfffffff1); both carry nfunc, textStart, funcnametab and functab offsets.
//
// Go's goroutine stacks move, so a uretprobe (which rewrites the return
// address on the stack) would corrupt the program: instead every RET of Read
// is found with capstone and probed as a plain uprobe. Each candidate is
// validated before it is reported (go_locator.cc: bounds inside .text, a Go
// stack-bound prologue against [r14+0x10], the register-ABI arguments read,
// a clean decode to the function end).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace agentrail {

struct GoTlsLocation {
  bool found = false;
  bool is_go = false;       // the file is a Go executable (pclntab or buildinfo seen)
  std::string why;          // on failure: stable reason (e.g. "no-crypto-tls")
  std::string build_id;     // GNU build-id hex, else "go-" + a hash of the Go build ID
  std::string go_version;   // runtime version from .go.buildinfo ("go1.26.8"), "" if unknown
  uint64_t write = 0;       // file offsets of the entries
  uint64_t read = 0;
  uint64_t write_end = 0;   // file offsets of the function ends (next function's entry)
  uint64_t read_end = 0;
  std::vector<uint64_t> read_rets;  // file offsets of every RET inside Read
};

// fd: an open file. Cheap for non-Go files (section headers only).
GoTlsLocation locateGoTls(int fd);

// The cache key of a Go executable (see GoTlsLocation::build_id); is_go
// false (and "") for anything else. Reads the section headers and notes only.
std::string goBuildKey(int fd, bool& is_go);

// Re-checks a cached location against this file: entries still validate and
// every RET offset still holds a RET inside Read.
bool revalidateGoTls(int fd, const GoTlsLocation& loc);

}  // namespace agentrail
