// SPDX-License-Identifier: Apache-2.0
// locateTls(path) / locateGoTls(path): the TLS discovery of the attacher for
// stripped BoringSSL and Go crypto/tls, callable from JS for
// `bench/tls-discovery.ts` and diagnostics. Same code paths as the attacher
// (cache first, then capstone).
#include <fcntl.h>
#include <time.h>
#include <unistd.h>

#include <napi.h>

#include "go_locate_cache.h"
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

Napi::Value LocateGoTls(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsString()) throw Napi::TypeError::New(env, "locateGoTls(path: string)");
  std::string path = info[0].As<Napi::String>();
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw Napi::Error::New(env, "locateGoTls: cannot open " + path);
  timespec a, b;
  clock_gettime(CLOCK_MONOTONIC, &a);
  bool hit = false;
  GoTlsLocation loc = locateGoCached(fd, hit);
  clock_gettime(CLOCK_MONOTONIC, &b);
  close(fd);
  Napi::Object o = Napi::Object::New(env);
  o.Set("found", loc.found);
  o.Set("why", loc.why);
  o.Set("buildId", loc.build_id);
  o.Set("goVersion", loc.go_version);
  o.Set("write", Napi::Number::New(env, double(loc.write)));
  o.Set("read", Napi::Number::New(env, double(loc.read)));
  Napi::Array rets = Napi::Array::New(env, loc.read_rets.size());
  for (size_t i = 0; i < loc.read_rets.size(); i++) rets.Set(uint32_t(i), Napi::Number::New(env, double(loc.read_rets[i])));
  o.Set("readRets", rets);
  o.Set("cacheHit", hit);
  o.Set("ms", (b.tv_sec - a.tv_sec) * 1e3 + (b.tv_nsec - a.tv_nsec) / 1e6);
  return o;
}

}  // namespace agentrail
