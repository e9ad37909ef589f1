// Thin glue: a channel per handle, a threadsafe function per channel for its events, and the one reference
// that keeps the destination the reader holds alive. Closing (explicitly, at GC, or when the thread's
// environment ends) always goes through Channel::Close, after which no destination is written.
#include "addon_tls.h"

#include <memory>
#include <string>

#include "tls_reader.h"

namespace rangepool {
namespace {

struct TlsHandle {
  napi_env env = nullptr;
  std::shared_ptr<tls::Channel> channel;
  napi_threadsafe_function events = nullptr;
  napi_ref target = nullptr;  // the destination the reader holds (kept until the next one, or the close)
  bool closed = false;
  bool hooked = false;

  void Close() {
    if (closed) return;
    closed = true;
    if (channel) channel->Close();
    if (target) napi_delete_reference(env, target), target = nullptr;
    if (events) napi_release_threadsafe_function(events, napi_tsfn_release), events = nullptr;
  }
};

// The thread's environment is ending: the reader must let go of memory that is about to be freed.
void CloseAtTeardown(void* arg) {
  auto* h = static_cast<TlsHandle*>(arg);
  h->hooked = false;
  h->Close();
}

void FinalizeHandle(napi_env env, TlsHandle* h) {
  if (h->hooked) napi_remove_env_cleanup_hook(env, CloseAtTeardown, h);
  h->Close();
  delete h;
}

// Runs on the handle's thread: onEvent(bytes, end, error). Without an env (the function closing) it only frees.
void CallEvent(napi_env env, napi_value js_fn, void*, void* data) {
  std::unique_ptr<tls::Event> e(static_cast<tls::Event*>(data));
  if (env == nullptr || js_fn == nullptr) return;
  napi_value undefined, args[3];
  napi_get_undefined(env, &undefined);
  napi_create_double(env, static_cast<double>(e->bytes), &args[0]);
  napi_create_int32(env, e->end, &args[1]);
  if (e->end == tls::Event::kFailed) napi_create_string_utf8(env, e->error.data(), e->error.size(), &args[2]);
  else args[2] = undefined;
  napi_call_function(env, undefined, js_fn, 3, args, nullptr);
}

TlsHandle* HandleOf(const Napi::Value& v) {
  if (!v.IsExternal()) throw Napi::TypeError::New(v.Env(), "expected a TLS channel handle");
  return v.As<Napi::External<TlsHandle>>().Data();
}

Napi::Uint8Array BytesArg(const Napi::Value& v, const char* what) {
  if (!v.IsTypedArray() || v.As<Napi::TypedArray>().TypedArrayType() != napi_uint8_array)
    throw Napi::TypeError::New(v.Env(), std::string("expected a Uint8Array for ") + what);
  return v.As<Napi::Uint8Array>();
}

// tlsOpen(fd, suite, key, iv, seq, early, handshake, onEvent): a handle, or throws with why the reader refused.
// Suite 0 reads a plain connection (early: bytes read before the hand-over).
Napi::Value TlsOpenJs(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const int fd = info[0].As<Napi::Number>().Int32Value();
  const int suite = info[1].As<Napi::Number>().Int32Value();
  auto key = BytesArg(info[2], "key"), iv = BytesArg(info[3], "iv"), early = BytesArg(info[5], "early");
  auto handshake = BytesArg(info[6], "handshake");
  const double seq = info[4].As<Napi::Number>().DoubleValue();
  // Suite 0: a plain connection (key, iv, seq and handshake unused).
  if (suite < 0 || suite > 3 || (suite != 0 && iv.ByteLength() != tls::kNonceBytes) || seq < 0 || !info[7].IsFunction())
    throw Napi::TypeError::New(env, "bad TLS channel arguments");
  auto* h = new TlsHandle();
  h->env = env;
  napi_value name = Napi::String::New(env, "rangepool:tls");
  if (napi_create_threadsafe_function(env, info[7], nullptr, name, 0, 1, nullptr, nullptr, nullptr, CallEvent, &h->events) != napi_ok) {
    delete h;
    throw Napi::Error::New(env, "could not make the TLS channel's event function");
  }
  napi_threadsafe_function events = h->events;
  std::string error;
  h->channel = tls::Channel::Open(
      fd,
      {suite == 0, static_cast<tls::Suite>(suite), key.Data(), key.ByteLength(), iv.Data(), static_cast<uint64_t>(seq), handshake.Data(),
       handshake.ByteLength()},
      early.Data(),
      early.ByteLength(), [events](tls::Event* e) {
        if (napi_call_threadsafe_function(events, e, napi_tsfn_nonblocking) != napi_ok) delete e;
      },
      &error);
  if (!h->channel) {
    h->Close();
    delete h;
    throw Napi::Error::New(env, error);
  }
  napi_add_env_cleanup_hook(env, CloseAtTeardown, h);
  h->hooked = true;
  return Napi::External<TlsHandle>::New(env, h, FinalizeHandle);
}

// tlsTarget(handle, view, fill): the next destination (see Channel::Target).
Napi::Value TlsTargetJs(const Napi::CallbackInfo& info) {
  TlsHandle* h = HandleOf(info[0]);
  auto view = BytesArg(info[1], "the destination");
  if (h->closed || view.ByteLength() == 0) return info.Env().Undefined();
  if (h->target) napi_delete_reference(h->env, h->target);
  napi_create_reference(h->env, view, 1, &h->target);
  h->channel->Target(view.Data(), view.ByteLength(), info[2].ToBoolean());
  return info.Env().Undefined();
}

Napi::Value TlsPauseJs(const Napi::CallbackInfo& info) {
  TlsHandle* h = HandleOf(info[0]);
  if (!h->closed) h->channel->Pause(info[1].ToBoolean());
  return info.Env().Undefined();
}

// tlsRef(handle, on): whether waiting for this channel's events keeps the thread's event loop alive.
Napi::Value TlsRefJs(const Napi::CallbackInfo& info) {
  TlsHandle* h = HandleOf(info[0]);
  if (!h->closed) {
    if (info[1].ToBoolean()) napi_ref_threadsafe_function(h->env, h->events);
    else napi_unref_threadsafe_function(h->env, h->events);
  }
  return info.Env().Undefined();
}

Napi::Value TlsCloseJs(const Napi::CallbackInfo& info) {
  TlsHandle* h = HandleOf(info[0]);
  if (h->hooked) napi_remove_env_cleanup_hook(h->env, CloseAtTeardown, h), h->hooked = false;
  h->Close();
  return info.Env().Undefined();
}

Napi::Value TlsRecordsJs(const Napi::CallbackInfo& info) {
  TlsHandle* h = HandleOf(info[0]);
  return Napi::Number::New(info.Env(), h->channel ? static_cast<double>(h->channel->records()) : 0);
}

}  // namespace

void InitTls(Napi::Env env, Napi::Object exports) {
  exports.Set("tlsAvailable", Napi::Boolean::New(env, tls::ReaderAvailable()));
  exports.Set("plainReaderAvailable", Napi::Boolean::New(env, tls::PlainReaderAvailable()));
  exports.Set("tlsOpen", Napi::Function::New(env, TlsOpenJs));
  exports.Set("tlsTarget", Napi::Function::New(env, TlsTargetJs));
  exports.Set("tlsPause", Napi::Function::New(env, TlsPauseJs));
  exports.Set("tlsRef", Napi::Function::New(env, TlsRefJs));
  exports.Set("tlsClose", Napi::Function::New(env, TlsCloseJs));
  exports.Set("tlsRecords", Napi::Function::New(env, TlsRecordsJs));
}

}  // namespace rangepool
