// N-API front of the Sensor (native/src/sensor.h). JS validates options
// (src/native/addon.ts); this file converts values, owns the thread-safe
// function, and turns SensorError into JS errors with code/errno/step/hint.
#include <napi.h>

#include <bpf/libbpf.h>

#include <atomic>
#include <cstdarg>
#include <cstdio>
#include <cstdlib>
#include <memory>

#include "abi_layout.h"
#include "errors.h"
#include "sensor.h"

namespace agentrail {
namespace {

const char* kReasonNames[AR_DROP_REASON_MAX] = {"ringbuf_full", "payload_truncated", "map_full", "read_failed",
                                                "tls_record_unparsed", "reason_5",   "reason_6", "reason_7"};

Napi::Error to_js(Napi::Env env, const SensorError& e) {
  Napi::Error err = Napi::Error::New(env, e.what());
  err.Set("code", Napi::String::New(env, e.code()));
  err.Set("errno", Napi::Number::New(env, e.err()));
  err.Set("step", Napi::String::New(env, e.step()));
  err.Set("hint", Napi::String::New(env, e.hint()));
  return err;
}

struct Delivery {
  uint8_t* data;  // nullptr = end of stream (queued by stop())
  size_t len;
  size_t records;
};

// Batches queued to JS and not yet handed over. The queue itself is
// unbounded so that the end-of-stream marker always fits; the bound on
// batches is enforced here, by the poll thread, without ever blocking.
struct InFlight {
  std::atomic<int> n{0};
  int max = 64;
};

void call_js(Napi::Env env, Napi::Function cb, InFlight* inflight, Delivery* d) {
  if (d->data) inflight->n.fetch_sub(1, std::memory_order_relaxed);
  if (env == nullptr || cb == nullptr) {  // the function is being torn down
    std::free(d->data);
    delete d;
    return;
  }
  Napi::Value buf = env.Null();
  if (d->data) {
#ifdef NODE_API_NO_EXTERNAL_BUFFERS_ALLOWED
    buf = Napi::Buffer<uint8_t>::Copy(env, d->data, d->len);  // runtimes with a V8 sandbox
    std::free(d->data);
#else
    buf = Napi::Buffer<uint8_t>::New(env, d->data, d->len, [](Napi::Env, uint8_t* p) { std::free(p); });
#endif
  }
  size_t n = d->records;
  delete d;
  try {
    cb.Call({buf, Napi::Number::New(env, double(n))});
  } catch (const Napi::Error& e) {
    e.ThrowAsJavaScriptException();  // reported as an uncaught exception
  }
}

using Tsfn = Napi::TypedThreadSafeFunction<InFlight, Delivery, call_js>;

uint64_t to_u64(const Napi::Value& v) {
  if (v.IsBigInt()) {
    bool lossless;
    return v.As<Napi::BigInt>().Uint64Value(&lossless);
  }
  if (v.IsString()) return std::stoull(v.As<Napi::String>().Utf8Value());
  return uint64_t(v.As<Napi::Number>().Int64Value());
}

class SensorWrap : public Napi::ObjectWrap<SensorWrap> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(env, "Sensor",
                       {
                           InstanceMethod<&SensorWrap::Start>("start"),
                           InstanceMethod<&SensorWrap::Stop>("stop"),
                           InstanceMethod<&SensorWrap::AddPid>("addPid"),
                           InstanceMethod<&SensorWrap::RemovePid>("removePid"),
                           InstanceMethod<&SensorWrap::AddCgroup>("addCgroup"),
                           InstanceMethod<&SensorWrap::RemoveCgroup>("removeCgroup"),
                           InstanceMethod<&SensorWrap::Counters>("counters"),
                           InstanceMethod<&SensorWrap::Coverage>("coverage"),
                           InstanceMethod<&SensorWrap::Objects>("objects"),
                           InstanceMethod<&SensorWrap::ReplaceEnforceMap>("replaceEnforceMap"),
                           StaticMethod<&SensorWrap::Layout>("layout"),
                       });
  }

  explicit SensorWrap(const Napi::CallbackInfo& info) : Napi::ObjectWrap<SensorWrap>(info) {
    Napi::Env env = info.Env();
    if (info.Length() < 1 || !info[0].IsObject()) throw Napi::TypeError::New(env, "new Sensor(options): options object required");
    Napi::Object o = info[0].As<Napi::Object>();
    SensorOptions opts;
    if (!o.Has("objectDir") || !o.Get("objectDir").IsString())
      throw Napi::TypeError::New(env, "options.objectDir (string) is required");
    opts.object_dir = o.Get("objectDir").As<Napi::String>().Utf8Value();
    if (o.Has("objects") && o.Get("objects").IsArray()) {
      Napi::Array a = o.Get("objects").As<Napi::Array>();
      for (uint32_t i = 0; i < a.Length(); i++) opts.objects.push_back(a.Get(i).As<Napi::String>().Utf8Value());
    }
    if (o.Has("traceAll")) opts.trace_all = o.Get("traceAll").ToBoolean().Value();
    if (o.Has("pids") && o.Get("pids").IsArray()) {
      Napi::Array a = o.Get("pids").As<Napi::Array>();
      for (uint32_t i = 0; i < a.Length(); i++) opts.pids.push_back(a.Get(i).As<Napi::Number>().Uint32Value());
    }
    if (o.Has("comms") && o.Get("comms").IsArray()) {
      Napi::Array a = o.Get("comms").As<Napi::Array>();
      for (uint32_t i = 0; i < a.Length(); i++) opts.comms.push_back(a.Get(i).As<Napi::String>().Utf8Value());
    }
    if (o.Has("cgroups") && o.Get("cgroups").IsArray()) {
      Napi::Array a = o.Get("cgroups").As<Napi::Array>();
      for (uint32_t i = 0; i < a.Length(); i++) opts.cgroups.push_back(to_u64(a.Get(i)));
    }
    auto num = [&](const char* k, uint32_t& out) {
      if (o.Has(k) && o.Get(k).IsNumber()) out = o.Get(k).As<Napi::Number>().Uint32Value();
    };
    num("tlsCap", opts.tls_cap);
    num("pipeCap", opts.pipe_cap);
    num("flushIntervalMs", opts.flush_interval_ms);
    num("ringBytes", opts.ring_bytes);
    uint32_t br = uint32_t(opts.batch_records), bb = uint32_t(opts.batch_bytes);
    num("batchRecords", br);
    num("batchBytes", bb);
    uint32_t mq = 0;
    num("maxQueuedBatches", mq);
    max_queued_ = int(mq);
    opts.batch_records = br;
    opts.batch_bytes = bb;
    sensor_ = std::make_unique<Sensor>(std::move(opts));
  }

  ~SensorWrap() override { shutdown(); }

 private:
  static void cleanup_hook(void* arg) { static_cast<SensorWrap*>(arg)->shutdown(); }

  void shutdown() {
    if (!sensor_) return;
    sensor_->stop();
    if (tsfn_active_) {
      tsfn_.NonBlockingCall(new Delivery{nullptr, 0, 0});  // end of stream, after the last batch
      tsfn_.Release();
      tsfn_active_ = false;
    }
    if (hook_env_) {
      napi_remove_env_cleanup_hook(hook_env_, &SensorWrap::cleanup_hook, this);
      hook_env_ = nullptr;
    }
  }

  Napi::Value Start(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (info.Length() < 1 || !info[0].IsFunction()) throw Napi::TypeError::New(env, "start(onBatch) needs a function");
    if (sensor_->running()) throw to_js(env, SensorError("ALREADY_STARTED", 16, "start", "the sensor is already running", "call stop() first"));
    auto* inflight = new InFlight();
    if (max_queued_ > 0) inflight->max = max_queued_;
    tsfn_ = Tsfn::New(env, info[0].As<Napi::Function>(), "agentrail-sensor", 0, 1, inflight,
                      [](Napi::Env, void*, InFlight* ctx) { delete ctx; });
    tsfn_active_ = true;
    Tsfn tsfn = tsfn_;
    try {
      sensor_->start([tsfn, inflight](uint8_t* data, size_t len, size_t n) mutable {
        if (inflight->n.load(std::memory_order_relaxed) >= inflight->max) return false;  // JS is behind
        auto* d = new Delivery{data, len, n};
        inflight->n.fetch_add(1, std::memory_order_relaxed);
        if (tsfn.NonBlockingCall(d) != napi_ok) {
          inflight->n.fetch_sub(1, std::memory_order_relaxed);
          delete d;  // the poller frees data and counts the drop
          return false;
        }
        return true;
      }, [inflight] { return inflight->n.load(std::memory_order_relaxed) == 0; });
    } catch (const SensorError& e) {
      tsfn_.Release();
      tsfn_active_ = false;
      throw to_js(env, e);
    }
    hook_env_ = env;
    napi_add_env_cleanup_hook(env, &SensorWrap::cleanup_hook, this);
    return env.Undefined();
  }

  Napi::Value Stop(const Napi::CallbackInfo& info) {
    shutdown();
    return info.Env().Undefined();
  }

  template <typename F>
  Napi::Value guarded(const Napi::CallbackInfo& info, F f) {
    try {
      f();
    } catch (const SensorError& e) {
      throw to_js(info.Env(), e);
    }
    return info.Env().Undefined();
  }

  Napi::Value AddPid(const Napi::CallbackInfo& info) {
    uint32_t pid = info[0].As<Napi::Number>().Uint32Value();
    return guarded(info, [&] { sensor_->add_pid(pid); });
  }
  Napi::Value RemovePid(const Napi::CallbackInfo& info) {
    uint32_t pid = info[0].As<Napi::Number>().Uint32Value();
    return guarded(info, [&] { sensor_->remove_pid(pid); });
  }
  Napi::Value AddCgroup(const Napi::CallbackInfo& info) {
    uint64_t id = to_u64(info[0]);
    return guarded(info, [&] { sensor_->add_cgroup(id); });
  }
  Napi::Value RemoveCgroup(const Napi::CallbackInfo& info) {
    uint64_t id = to_u64(info[0]);
    return guarded(info, [&] { sensor_->remove_cgroup(id); });
  }

  // replaceEnforceMap(name, [[keyBuffer, valueBuffer], ...]): kernel enforcement lists (issue 13).
  Napi::Value ReplaceEnforceMap(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (info.Length() < 2 || !info[0].IsString() || !info[1].IsArray())
      throw Napi::TypeError::New(env, "replaceEnforceMap(name, entries) needs a name and an array of [key, value] buffers");
    std::string name = info[0].As<Napi::String>().Utf8Value();
    Napi::Array a = info[1].As<Napi::Array>();
    std::vector<std::pair<std::string, std::string>> entries;
    for (uint32_t i = 0; i < a.Length(); i++) {
      Napi::Array kv = a.Get(i).As<Napi::Array>();
      auto k = kv.Get(0u).As<Napi::Buffer<char>>(), v = kv.Get(1u).As<Napi::Buffer<char>>();
      entries.emplace_back(std::string(k.Data(), k.Length()), std::string(v.Data(), v.Length()));
    }
    return guarded(info, [&] { sensor_->replace_enforce_map(name, entries); });
  }

  Napi::Value Counters(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    SensorCounters c = sensor_->counters();
    Napi::Object out = Napi::Object::New(env);
    Napi::Object drops = Napi::Object::New(env);
    for (const auto& [family, v] : c.drops) {
      Napi::Object f = Napi::Object::New(env);
      for (size_t r = 0; r < v.size() && r < AR_DROP_REASON_MAX; r++)
        if (r < 4 || v[r]) f.Set(kReasonNames[r], Napi::Number::New(env, double(v[r])));
      drops.Set(family, f);
    }
    out.Set("drops", drops);
    out.Set("records", Napi::Number::New(env, double(c.poller.records)));
    out.Set("batchesDelivered", Napi::Number::New(env, double(c.poller.batches_delivered)));
    out.Set("batchesDropped", Napi::Number::New(env, double(c.poller.batches_dropped)));
    out.Set("recordsDropped", Napi::Number::New(env, double(c.poller.records_dropped)));
    out.Set("bytesDelivered", Napi::Number::New(env, double(c.poller.bytes_delivered)));
    out.Set("ringFillPeak", Napi::Number::New(env, c.poller.ring_fill_peak));
    out.Set("ringWrapped", Napi::Number::New(env, double(c.poller.ring_wrapped)));
    out.Set("heapTrims", Napi::Number::New(env, double(c.poller.heap_trims)));
    out.Set("pollErrors", Napi::Number::New(env, double(c.poller.poll_errors)));
    out.Set("pollFatalErrno", Napi::Number::New(env, double(c.poller.poll_fatal_errno)));
    out.Set("periodicFlushes", Napi::Number::New(env, double(c.periodic_flushes)));
    Napi::Object obs = Napi::Object::New(env);
    for (const auto& [k, v] : c.observers) obs.Set(k, Napi::Number::New(env, double(v)));
    out.Set("observers", obs);
    return out;
  }

  // One object per inspected binary: what TLS it carries and whether it is probed.
  Napi::Value Coverage(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    std::vector<BinaryVerdict> rows = sensor_->coverage();
    Napi::Array a = Napi::Array::New(env, rows.size());
    for (size_t i = 0; i < rows.size(); i++) {
      const BinaryVerdict& v = rows[i];
      Napi::Object o = Napi::Object::New(env);
      o.Set("path", v.path);
      o.Set("dev", Napi::Number::New(env, double(v.dev)));
      o.Set("ino", Napi::Number::New(env, double(v.ino)));
      o.Set("buildId", v.build_id);
      o.Set("runtime", v.runtime);
      o.Set("library", v.library);
      o.Set("state", v.state);
      o.Set("reason", v.reason);
      o.Set("probes", Napi::Number::New(env, v.probes));
      o.Set("locateMs", Napi::Number::New(env, double(v.locate_ns) / 1e6));
      o.Set("seenUnixMs", Napi::Number::New(env, double(v.seen_unix_ms)));
      a.Set(uint32_t(i), o);
    }
    return a;
  }

  Napi::Value Objects(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    auto names = sensor_->loaded_objects();
    Napi::Array a = Napi::Array::New(env, names.size());
    for (size_t i = 0; i < names.size(); i++) a.Set(uint32_t(i), Napi::String::New(env, names[i]));
    return a;
  }

  static Napi::Value Layout(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    Napi::Object out = Napi::Object::New(env);
    for (const StructLayout& s : abi_layout()) {
      Napi::Object st = Napi::Object::New(env);
      st.Set("size", Napi::Number::New(env, double(s.size)));
      Napi::Object fields = Napi::Object::New(env);
      for (const auto& [name, off] : s.fields) fields.Set(name, Napi::Number::New(env, double(off)));
      st.Set("fields", fields);
      out.Set(s.name, st);
    }
    return out;
  }

  std::unique_ptr<Sensor> sensor_;
  Tsfn tsfn_;
  bool tsfn_active_ = false;
  int max_queued_ = 0;
  napi_env hook_env_ = nullptr;
};

int libbpf_print(enum libbpf_print_level level, const char* fmt, va_list ap) {
  static const bool debug = std::getenv("AGENTRAIL_LIBBPF_DEBUG") != nullptr;
  if (!debug) return 0;  // errors reach JS as SensorError; the log is opt-in
  return std::vfprintf(stderr, fmt, ap);
}

}  // namespace
Napi::Value LocateTls(const Napi::CallbackInfo& info);  // addon_locate.cc (issue 10b)
Napi::Value LocateGoTls(const Napi::CallbackInfo& info);  // addon_locate.cc (Go crypto/tls)
Napi::Value LocateAead(const Napi::CallbackInfo& info);   // addon_locate.cc (aws-lc AEAD, codex2)
namespace {

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  libbpf_set_print(libbpf_print);
  exports.Set("Sensor", SensorWrap::Define(env));
  exports.Set("abiVersion", Napi::Number::New(env, AR_ABI_VERSION));
  exports.Set("locateTls", Napi::Function::New(env, LocateTls, "locateTls"));  // issue 10b
  exports.Set("locateGoTls", Napi::Function::New(env, LocateGoTls, "locateGoTls"));
  exports.Set("locateAead", Napi::Function::New(env, LocateAead, "locateAead"));  // codex2
  return exports;
}

}  // namespace
}  // namespace agentrail

static Napi::Object InitModule(Napi::Env env, Napi::Object exports) { return agentrail::Init(env, exports); }

NODE_API_MODULE(agentrail, InitModule)
