// Typed setup errors of the Sensor: a code for programs, the errno, the step
// that failed, and a hint telling the user what to do. Thrown as C++
// exceptions inside the addon and turned into JS Errors at the boundary.
#pragma once

#include <stdexcept>
#include <string>

namespace agentrail {

class SensorError : public std::runtime_error {
 public:
  SensorError(std::string code, int err, std::string step, const std::string& message, std::string hint)
      : std::runtime_error(message), code_(std::move(code)), errno_(err), step_(std::move(step)), hint_(std::move(hint)) {}
  const std::string& code() const { return code_; }
  int err() const { return errno_; }
  const std::string& step() const { return step_; }
  const std::string& hint() const { return hint_; }

 private:
  std::string code_;
  int errno_;
  std::string step_;
  std::string hint_;
};

// Checks done before touching BPF, so the user gets the real cause first:
// privileges (CAP_BPF + CAP_PERFMON or CAP_SYS_ADMIN), BTF, tracefs.
void preflight();

// An error from a libbpf call (negative errno or errno) at `step`.
SensorError bpf_error(const std::string& step, int err, const std::string& what);

}  // namespace agentrail
