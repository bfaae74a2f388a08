// SPDX-License-Identifier: Apache-2.0
// locateTls(path): the stripped-binary TLS discovery of the attacher, callable
// from JS for `bench/tls-discovery.ts` and diagnostics. Same code path as
// TlsAttacher::locateStripped (cache first, then capstone).
#include <fcntl.h>
#include <time.h>
#include <unistd.h>

#include <napi.h>

#include "tls_locate_cache.h"

namespace agentrail {

Napi::Value LocateTls(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsString()) throw Napi::TypeError::New(env, "locateTls(path: string)");
  std::string path = info[0].As<Napi::String>();
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw Napi::Error::New(env, "locateTls: cannot open " + path);
  timespec a, b;
  clock_gettime(CLOCK_MONOTONIC, &a);
  bool hit = false;
  TlsLocation loc = locateCached(fd, hit);
  clock_gettime(CLOCK_MONOTONIC, &b);
  close(fd);
  Napi::Object o = Napi::Object::New(env);
  o.Set("found", loc.found);
  o.Set("why", loc.why);
  o.Set("buildId", loc.build_id);
  o.Set("sslWrite", Napi::Number::New(env, double(loc.ssl_write)));
  o.Set("sslRead", Napi::Number::New(env, double(loc.ssl_read)));
  o.Set("cacheHit", hit);
  o.Set("ms", (b.tv_sec - a.tv_sec) * 1e3 + (b.tv_nsec - a.tv_nsec) / 1e6);
  return o;
}

}  // namespace agentrail
