// SPDX-License-Identifier: Apache-2.0
// The build-id cache in front of locateGoTls, beside the BoringSSL one
// (tls_locate_cache.h, same directory): one file "go-<build-id>" per Go
// build, holding the entries, ends, every RET of Read and the Go version.
// Negative results of Go binaries are cached too; a positive entry is
// re-validated against the file before use (a file can be altered without
// changing its build-id).
#pragma once

#include "go_locator.h"

namespace agentrail {

// A cached entry (re-validated when positive) or a fresh locate, stored when
// the file is a Go executable. cache_hit tells which.
GoTlsLocation locateGoCached(int fd, bool& cache_hit);

}  // namespace agentrail
