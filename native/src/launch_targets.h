// SPDX-License-Identifier: Apache-2.0
// What a stopped traced process is about to exec. `agentrail run -- CMD`
// starts `sh -c 'kill -STOP $$; exec "$@"' agentrail-launch CMD ARGS…` and
// adds it to the selection while it is stopped; the attacher probes the
// files named by its arguments (resolved like execvp: through the process's
// PATH, cwd and root) before it resumes, so CMD's first TLS call is captured
// even when CMD is a never-seen binary (Go, Bun) whose probes would
// otherwise go live a few ms after its exec.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace agentrail {

// Empty unless /proc/<pid>/stat says the process is stopped ('T'). Paths are
// reachable from this process (/proc/<pid>/root/… or /proc/<pid>/cwd/…),
// regular executable files only, at most 16.
std::vector<std::string> stoppedExecTargets(uint32_t pid);

}  // namespace agentrail
