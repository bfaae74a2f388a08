// SPDX-License-Identifier: Apache-2.0
// locateTls(path) / locateGoTls(path) / locateAead(path): the TLS discovery of
// the attacher for stripped BoringSSL, Go crypto/tls and stripped aws-lc, callable from JS for
// `bench/tls-discovery.ts` and diagnostics. Same code paths as the attacher
// (cache first, then capstone).
#include <fcntl.h>
#include <unistd.h>

#include <napi.h>

#include "aead_locator.h"
#include "go_locate_cache.h"
#include "mono_clock.h"
#include "tls_locate_cache.h"

namespace agentrail {

namespace {

// Opens `path` (argument 0), runs `locate` on the fd under a monotonic timer,
// and returns what `fill` sets on the result object plus cacheHit and ms.
template <typename Locate, typename Fill>
Napi::Value timedLocate(const Napi::CallbackInfo& info, const char* name, Locate locate, Fill fill) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsString()) throw Napi::TypeError::New(env, std::string(name) + "(path: string)");
  std::string path = info[0].As<Napi::String>();
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw Napi::Error::New(env, std::string(name) + ": cannot open " + path);
  uint64_t t0 = monoNs();
  bool hit = false;
  auto loc = locate(fd, hit);
  uint64_t dt = monoNs() - t0;
  close(fd);
  Napi::Object o = Napi::Object::New(env);
  fill(env, o, loc);
  o.Set("cacheHit", hit);
  o.Set("ms", double(dt) / 1e6);
  return o;
}

}  // namespace

Napi::Value LocateTls(const Napi::CallbackInfo& info) {
  return timedLocate(info, "locateTls", locateCached, [](Napi::Env env, Napi::Object& o, const TlsLocation& loc) {
    o.Set("found", loc.found);
    o.Set("why", loc.why);
    o.Set("buildId", loc.build_id);
    o.Set("sslWrite", Napi::Number::New(env, double(loc.ssl_write)));
    o.Set("sslRead", Napi::Number::New(env, double(loc.ssl_read)));
  });
}

Napi::Value LocateGoTls(const Napi::CallbackInfo& info) {
  return timedLocate(info, "locateGoTls", locateGoCached, [](Napi::Env env, Napi::Object& o, const GoTlsLocation& loc) {
    o.Set("found", loc.found);
    o.Set("why", loc.why);
    o.Set("buildId", loc.build_id);
    o.Set("goVersion", loc.go_version);
    o.Set("write", Napi::Number::New(env, double(loc.write)));
    o.Set("read", Napi::Number::New(env, double(loc.read)));
    Napi::Array rets = Napi::Array::New(env, loc.read_rets.size());
    for (size_t i = 0; i < loc.read_rets.size(); i++) rets.Set(uint32_t(i), Napi::Number::New(env, double(loc.read_rets[i])));
    o.Set("readRets", rets);
  });
}

Napi::Value LocateAead(const Napi::CallbackInfo& info) {
  return timedLocate(info, "locateAead", locateAeadCached, [](Napi::Env env, Napi::Object& o, const AeadLocation& loc) {
    o.Set("found", loc.found);
    o.Set("why", loc.why);
    o.Set("buildId", loc.key);
    o.Set("seal", Napi::Number::New(env, double(loc.seal)));
    o.Set("open", Napi::Number::New(env, double(loc.open)));
    o.Set("sealScatter", Napi::Number::New(env, double(loc.seal_scatter)));
  });
}

}  // namespace agentrail
