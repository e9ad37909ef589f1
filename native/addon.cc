// Node-API glue over the pool core, and nothing else. Argument checks live in the TypeScript facade;
// this file only keeps what must hold even when it is called wrongly (never abort the process).
#include <napi.h>

#include <atomic>
#include <map>

#include "addon_tls.h"
#include "crc32c.h"
#include "crc64nvme.h"
#include "file_lock.h"
#include "file_space.h"
#include "registry.h"

#ifndef RANGEPOOL_SOURCE_HASH
#define RANGEPOOL_SOURCE_HASH "unknown"
#endif

namespace rangepool {
namespace {

struct PoolHandle {
  std::shared_ptr<Pool> pool;
  uint32_t id;
};

// Keeps the pool alive for as long as one of its buffers is.
struct BlockHint {
  std::shared_ptr<Pool> pool;
};

// The one place a block goes back: V8 runs it when the ArrayBuffer is collected or detached, on the
// thread that made it (at the next setImmediate, or at worker exit).
void FinalizeBlock(napi_env, void* data, void* hint) {
  auto* h = static_cast<BlockHint*>(hint);
  h->pool->Reclaim(data);
  delete h;
}

// A borrowed view of a block: given back once, by unview() or, failing that, when its ArrayBuffer is
// finalized (a thread that exits with views out). Owned by the ArrayBuffer's finalizer and the handle.
struct View {
  std::shared_ptr<Pool> pool;
  void* block;
  std::atomic<bool> returned{false};
  void GiveBack() {
    if (!returned.exchange(true)) pool->Unborrow(block);
  }
};
using ViewRef = std::shared_ptr<View>;

void FinalizeView(napi_env, void*, void* hint) {
  auto* ref = static_cast<ViewRef*>(hint);
  (*ref)->GiveBack();
  delete ref;
}

// One per loaded copy of the facade (usually one per thread): which pools its waiting acquires watch,
// and the threadsafe function that wakes them when any thread returns memory to one of those pools.
struct Watchers {
  napi_threadsafe_function wakeup = nullptr;
  std::map<uint32_t, std::pair<std::weak_ptr<Pool>, uint64_t>> listeners;  // pool id -> (pool, listener id)

  void RemoveAll() {
    for (auto& [id, entry] : listeners)
      if (auto pool = entry.first.lock()) pool->RemoveListener(entry.second);
    listeners.clear();
  }
};
using WatchersRef = std::shared_ptr<Watchers>;

void CallWakeup(napi_env env, napi_value js_fn, void*, void* data) {
  if (env == nullptr || js_fn == nullptr) return;
  napi_value undefined, id;
  napi_get_undefined(env, &undefined);
  napi_create_uint32(env, static_cast<uint32_t>(reinterpret_cast<uintptr_t>(data)), &id);
  napi_call_function(env, undefined, js_fn, 1, &id, nullptr);
}

// Runs when the env closes the threadsafe function (at the latest, as the thread exits); after it, no
// listener may call into it.
void FinalizeWakeup(napi_env, void* finalize_data, void*) {
  auto* watchers = static_cast<WatchersRef*>(finalize_data);
  (*watchers)->RemoveAll();
  (*watchers)->wakeup = nullptr;
  delete watchers;
}

PoolHandle& HandleOf(const Napi::Value& v) {
  if (!v.IsExternal()) throw Napi::TypeError::New(v.Env(), "expected a pool handle");
  return *v.As<Napi::External<PoolHandle>>().Data();
}

Napi::Value WrapHandle(Napi::Env env, std::shared_ptr<Pool> pool, uint32_t id) {
  auto handle = Napi::External<PoolHandle>::New(env, new PoolHandle{std::move(pool), id},
                                                [](Napi::Env, PoolHandle* h) { delete h; });
  Napi::Object result = Napi::Object::New(env);
  result.Set("handle", handle);
  result.Set("id", id);
  return result;
}

PoolConfig ConfigFrom(const Napi::Object& o) {
  PoolConfig c;
  Napi::Array classes = o.Get("sizeClasses").As<Napi::Array>();
  for (uint32_t i = 0; i < classes.Length(); ++i)
    c.size_classes.push_back(static_cast<size_t>(classes.Get(i).As<Napi::Number>().Int64Value()));
  c.idle_per_class = static_cast<size_t>(o.Get("idlePerClass").As<Napi::Number>().Int64Value());
  c.max_bytes = static_cast<size_t>(o.Get("maxBytes").As<Napi::Number>().Int64Value());
  c.trim_after_ms = static_cast<uint64_t>(o.Get("trimAfterMs").As<Napi::Number>().Int64Value());
  c.poison = o.Get("poison").ToBoolean();
  return c;
}

Napi::Object ConfigTo(Napi::Env env, const PoolConfig& c) {
  Napi::Object o = Napi::Object::New(env);
  Napi::Array classes = Napi::Array::New(env, c.size_classes.size());
  for (uint32_t i = 0; i < c.size_classes.size(); ++i) classes.Set(i, static_cast<double>(c.size_classes[i]));
  o.Set("sizeClasses", classes);
  o.Set("idlePerClass", static_cast<double>(c.idle_per_class));
  o.Set("maxBytes", static_cast<double>(c.max_bytes));
  o.Set("trimAfterMs", static_cast<double>(c.trim_after_ms));
  o.Set("poison", c.poison);
  return o;
}

Napi::Value CreatePoolJs(const Napi::CallbackInfo& info) {
  uint32_t id = 0;
  auto pool = CreatePool(ConfigFrom(info[0].As<Napi::Object>()), &id);
  return WrapHandle(info.Env(), std::move(pool), id);
}

Napi::Value DefaultPoolJs(const Napi::CallbackInfo& info) {
  return WrapHandle(info.Env(), DefaultPool(ConfigFrom(info[0].As<Napi::Object>())), kDefaultPoolId);
}

Napi::Value AttachPoolJs(const Napi::CallbackInfo& info) {
  const uint32_t id = info[0].As<Napi::Number>().Uint32Value();
  auto pool = FindPool(id);
  if (!pool) return info.Env().Undefined();
  return WrapHandle(info.Env(), std::move(pool), id);
}

Napi::Value PoolConfigJs(const Napi::CallbackInfo& info) { return ConfigTo(info.Env(), HandleOf(info[0]).pool->config()); }

// An ArrayBuffer of exactly `size` bytes over a block, or why not (AcquireStatus, as a string):
// 'over-cap' when the cap would be exceeded; with waitForReturning, 'returning' when a released block of
// the class will be back at the next turn.
size_t SizeArg(const Napi::Value& v) {
  const double size = v.As<Napi::Number>().DoubleValue();
  if (!(size >= 1) || size > 9007199254740991.0 || size != static_cast<double>(static_cast<uint64_t>(size)))
    throw Napi::RangeError::New(v.Env(), "size must be a positive integer");
  return static_cast<size_t>(size);
}

uint64_t LengthArg(const Napi::Value& v) {
  const double len = v.As<Napi::Number>().DoubleValue();
  if (!(len >= 0)) throw Napi::RangeError::New(v.Env(), "length must be >= 0");
  return static_cast<uint64_t>(len);
}

// An acquire that gave no block: 'over-cap' or 'returning' for the facade, or an exception.
Napi::Value StatusValue(Napi::Env env, AcquireStatus status) {
  switch (status) {
    case AcquireStatus::kOverCap:
      return Napi::String::New(env, "over-cap");
    case AcquireStatus::kReturning:
      return Napi::String::New(env, "returning");
    case AcquireStatus::kTooLarge:
      throw Napi::RangeError::New(env, "size is larger than the pool's cap");
    default: {
      Napi::Error e = Napi::Error::New(env, "out of memory mapping a pool block");
      e.Set("code", "ENOMEM");
      throw e;
    }
  }
}

// The block as an ArrayBuffer of exactly `size` bytes; its finalizer is the one place it goes back.
Napi::Value WrapBlock(Napi::Env env, const std::shared_ptr<Pool>& pool, const Block& block, size_t size) {
  auto* hint = new BlockHint{pool};
  napi_value ab;
  napi_status status = napi_create_external_arraybuffer(env, block.data, size, FinalizeBlock, hint, &ab);
  if (status != napi_ok) {
    delete hint;
    pool->Reclaim(block.data);
    Napi::Error e = Napi::Error::New(env, "this runtime does not allow external buffers");
    e.Set("code", status == napi_no_external_buffers_allowed ? "ERR_NO_EXTERNAL_BUFFERS" : "ERR_NAPI");
    throw e;
  }
  return Napi::Value(env, ab);
}

Napi::Value AcquireJs(const Napi::CallbackInfo& info) {
  PoolHandle& h = HandleOf(info[0]);
  const size_t size = SizeArg(info[1]);
  Block block;
  const AcquireStatus status = h.pool->Acquire(size, &block, info[2].ToBoolean());
  return status == AcquireStatus::kOk ? WrapBlock(info.Env(), h.pool, block, size) : StatusValue(info.Env(), status);
}

// A fresh block mapped and faulted in on a threadpool thread, so its pages cost the event loop nothing.
// Its bytes are reserved against the cap before the work starts; they are given back if it fails.
class FreshBlock : public Napi::AsyncWorker {
 public:
  FreshBlock(Napi::Env env, std::shared_ptr<Pool> pool, const Block& block, size_t size)
      : Napi::AsyncWorker(env, "rangepool.fresh"), deferred_(Napi::Promise::Deferred::New(env)), pool_(std::move(pool)), block_(block), size_(size) {}
  ~FreshBlock() override {
    if (!adopted_) pool_->Cancel(block_);
  }
  Napi::Promise Promise() const { return deferred_.Promise(); }

 protected:
  void Execute() override {
    if (!Pool::MapReserved(&block_, true)) SetError("out of memory mapping a pool block");
  }
  void OnOK() override {
    pool_->Adopt(block_, true);
    adopted_ = true;
    try {
      deferred_.Resolve(WrapBlock(Env(), pool_, block_, size_));
    } catch (const Napi::Error& e) {
      deferred_.Reject(e.Value());
    }
  }
  void OnError(const Napi::Error& e) override {
    Napi::Error err = e;
    err.Set("code", "ENOMEM");
    deferred_.Reject(err.Value());
  }

 private:
  Napi::Promise::Deferred deferred_;
  std::shared_ptr<Pool> pool_;
  Block block_;
  size_t size_;
  bool adopted_ = false;
};

// acquireAsync(handle, size, waitForReturning): an idle block at once (an ArrayBuffer), 'over-cap' or
// 'returning', or a Promise of a fresh block prepared off the event loop.
Napi::Value AcquireAsyncJs(const Napi::CallbackInfo& info) {
  PoolHandle& h = HandleOf(info[0]);
  const size_t size = SizeArg(info[1]);
  Block block;
  const AcquireStatus status = h.pool->Acquire(size, &block, info[2].ToBoolean(), true);
  if (status == AcquireStatus::kOk) return WrapBlock(info.Env(), h.pool, block, size);
  if (status != AcquireStatus::kFresh) return StatusValue(info.Env(), status);
  auto* work = new FreshBlock(info.Env(), h.pool, block, size);
  Napi::Promise promise = work->Promise();
  work->Queue();
  return promise;
}

Napi::Value ReleaseJs(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!info[0].IsArrayBuffer()) throw Napi::TypeError::New(env, "expected an ArrayBuffer");
  napi_value ab = info[0];
  bool detached = false;
  napi_is_detached_arraybuffer(env, ab, &detached);
  if (detached) return Napi::Boolean::New(env, false);
  const void* data = info[0].As<Napi::ArrayBuffer>().Data();
  uint32_t owner_id = 0;
  std::shared_ptr<Pool> owner;
  if (info.Length() > 1 && !info[1].IsUndefined()) {
    PoolHandle& h = HandleOf(info[1]);
    if (data != nullptr && h.pool->IsOut(data)) owner = h.pool;
  } else if (data != nullptr) {
    owner = FindOwner(data, &owner_id);
  }
  if (!owner) throw Napi::TypeError::New(env, "not a buffer handed out by this pool");
  if (napi_detach_arraybuffer(env, ab) != napi_ok) throw Napi::Error::New(env, "could not detach the buffer");
  owner->Release(data);
  return Napi::Boolean::New(env, true);
}

// The pool id and block capacity behind a pooled ArrayBuffer, or undefined.
Napi::Value OwnershipJs(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!info[0].IsArrayBuffer()) return env.Undefined();
  const void* data = info[0].As<Napi::ArrayBuffer>().Data();
  uint32_t id = 0;
  auto pool = data == nullptr ? nullptr : FindOwner(data, &id);
  if (!pool) return env.Undefined();
  Napi::Object o = Napi::Object::New(env);
  o.Set("poolId", id);
  o.Set("capacity", static_cast<double>(pool->CapacityOf(data)));
  return o;
}

// lend(ab): what another thread needs to borrow a view of this pooled buffer's block:
// { poolId, address (BigInt), ticket }, or undefined when it is not a block that is out.
Napi::Value LendJs(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!info[0].IsArrayBuffer()) return env.Undefined();
  const void* data = info[0].As<Napi::ArrayBuffer>().Data();
  uint32_t id = 0;
  auto pool = data == nullptr ? nullptr : FindOwner(data, &id);
  const uint64_t ticket = pool ? pool->TicketOf(data) : 0;
  if (ticket == 0) return env.Undefined();
  Napi::Object o = Napi::Object::New(env);
  o.Set("poolId", id);
  o.Set("address", Napi::BigInt::New(env, static_cast<uint64_t>(reinterpret_cast<uintptr_t>(data))));
  o.Set("ticket", static_cast<double>(ticket));
  return o;
}

// view(poolId, address, ticket, offset, length): { buffer, handle }, an ArrayBuffer over those bytes of a
// lent block, on this thread. The block does not go back to the pool until unview(view) (or the
// buffer's finalizer, if the thread exits first).
Napi::Value ViewJs(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto pool = FindPool(info[0].As<Napi::Number>().Uint32Value());
  bool lossless = false;
  void* block = reinterpret_cast<void*>(static_cast<uintptr_t>(info[1].As<Napi::BigInt>().Uint64Value(&lossless)));
  const uint64_t ticket = static_cast<uint64_t>(info[2].As<Napi::Number>().DoubleValue());
  const size_t offset = static_cast<size_t>(LengthArg(info[3]));
  const size_t length = SizeArg(info[4]);
  void* data = pool && lossless ? pool->Borrow(block, ticket, offset, length) : nullptr;
  if (data == nullptr) throw Napi::TypeError::New(env, "not a lent block of a live pool, or not that span of it");
  auto view = std::make_shared<View>();
  view->pool = pool;
  view->block = block;
  auto* hint = new ViewRef(view);
  napi_value ab;
  if (napi_create_external_arraybuffer(env, data, length, FinalizeView, hint, &ab) != napi_ok) {
    delete hint;
    view->GiveBack();
    throw Napi::Error::New(env, "could not create the view");
  }
  Napi::Object result = Napi::Object::New(env);
  result.Set("buffer", Napi::Value(env, ab));
  result.Set("handle", Napi::External<ViewRef>::New(env, new ViewRef(view), [](Napi::Env, ViewRef* r) { delete r; }));
  return result;
}

// unview(view): detaches the view's buffer and gives the block back now (a release that waited on it
// completes here, on this thread).
void UnviewJs(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!info[0].IsObject()) throw Napi::TypeError::New(env, "expected a view");
  Napi::Object view = info[0].As<Napi::Object>();
  Napi::Value buffer = view.Get("buffer");
  Napi::Value handle = view.Get("handle");
  if (!buffer.IsArrayBuffer() || !handle.IsExternal()) throw Napi::TypeError::New(env, "expected a view");
  napi_detach_arraybuffer(env, buffer);
  (*handle.As<Napi::External<ViewRef>>().Data())->GiveBack();
}

Napi::Value StatsJs(const Napi::CallbackInfo& info) {
  const PoolStats s = HandleOf(info[0]).pool->Stats();
  Napi::Object o = Napi::Object::New(info.Env());
  o.Set("taken", static_cast<double>(s.taken));
  o.Set("returned", static_cast<double>(s.returned));
  o.Set("fresh", static_cast<double>(s.fresh));
  o.Set("reused", static_cast<double>(s.reused));
  o.Set("waits", static_cast<double>(s.waits));
  o.Set("inUseBytes", static_cast<double>(s.in_use_bytes));
  o.Set("idleBytes", static_cast<double>(s.idle_bytes));
  o.Set("peakInUseBytes", static_cast<double>(s.peak_in_use_bytes));
  o.Set("trimmedBytes", static_cast<double>(s.trimmed_bytes));
  o.Set("prefaulted", static_cast<double>(s.prefaulted));
  o.Set("views", static_cast<double>(s.views));
  return o;
}

Napi::Value TrimJs(const Napi::CallbackInfo& info) {
  const uint64_t min_idle_ms = static_cast<uint64_t>(info[1].As<Napi::Number>().Int64Value());
  return Napi::Number::New(info.Env(), static_cast<double>(HandleOf(info[0]).pool->Trim(min_idle_ms)));
}

Napi::Value CapacityForJs(const Napi::CallbackInfo& info) {
  const double size = info[1].As<Napi::Number>().DoubleValue();
  return Napi::Number::New(info.Env(), static_cast<double>(HandleOf(info[0]).pool->CapacityFor(static_cast<size_t>(size))));
}

void NoteWaitJs(const Napi::CallbackInfo& info) { HandleOf(info[0]).pool->NoteWait(); }

// createWaker(fn): fn(poolId) is called on this thread after memory comes back to a pool watched
// through the returned waker.
Napi::Value CreateWakerJs(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto watchers = std::make_shared<Watchers>();
  auto* finalize_data = new WatchersRef(watchers);
  napi_status status =
      napi_create_threadsafe_function(env, info[0], nullptr, Napi::String::New(env, "rangepool.wakeup"), 0, 1,
                                      finalize_data, FinalizeWakeup, nullptr, CallWakeup, &watchers->wakeup);
  if (status != napi_ok) {
    delete finalize_data;
    throw Napi::Error::New(env, "could not create the wakeup function");
  }
  napi_unref_threadsafe_function(env, watchers->wakeup);  // only waiting acquires keep the loop alive
  return Napi::External<WatchersRef>::New(env, new WatchersRef(watchers), [](Napi::Env, WatchersRef* w) {
    (*w)->RemoveAll();
    delete w;
  });
}

// watch(waker, handle, on): while on, memory coming back to this pool from any thread wakes this thread.
void WatchJs(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Watchers& w = **info[0].As<Napi::External<WatchersRef>>().Data();
  PoolHandle& h = HandleOf(info[1]);
  const bool on = info[2].ToBoolean();
  if (w.wakeup == nullptr) return;  // the thread is exiting
  auto it = w.listeners.find(h.id);
  if (on && it == w.listeners.end()) {
    napi_threadsafe_function tsfn = w.wakeup;
    void* id = reinterpret_cast<void*>(static_cast<uintptr_t>(h.id));
    uint64_t listener = h.pool->AddListener([tsfn, id] { napi_call_threadsafe_function(tsfn, id, napi_tsfn_nonblocking); });
    if (w.listeners.empty()) napi_ref_threadsafe_function(env, w.wakeup);
    w.listeners[h.id] = {h.pool, listener};
  } else if (!on && it != w.listeners.end()) {
    h.pool->RemoveListener(it->second.second);
    w.listeners.erase(it);
    if (w.listeners.empty()) napi_unref_threadsafe_function(env, w.wakeup);
  }
}

// False under runtimes that forbid external buffers (V8 sandbox): the facade falls back to JS.
Napi::Value ExternalBuffersAllowedJs(const Napi::CallbackInfo& info) {
  // A fresh byte each time: V8 may refuse two live external buffers over one address.
  char* probe = new char[1];
  napi_value ab;
  napi_status status = napi_create_external_arraybuffer(
      info.Env(), probe, 1, [](napi_env, void* data, void*) { delete[] static_cast<char*>(data); }, nullptr, &ab);
  if (status != napi_ok) delete[] probe;
  return Napi::Boolean::New(info.Env(), status == napi_ok);
}

// The bytes of a TypedArray, DataView or ArrayBuffer.
std::pair<const void*, size_t> BytesOf(const Napi::Value& v) {
  if (v.IsArrayBuffer()) {
    auto ab = v.As<Napi::ArrayBuffer>();
    return {ab.Data(), ab.ByteLength()};
  }
  if (v.IsTypedArray()) {
    auto ta = v.As<Napi::TypedArray>();
    return {static_cast<const char*>(ta.ArrayBuffer().Data()) + ta.ByteOffset(), ta.ByteLength()};
  }
  if (v.IsDataView()) {
    auto dv = v.As<Napi::DataView>();
    return {static_cast<const char*>(dv.ArrayBuffer().Data()) + dv.ByteOffset(), dv.ByteLength()};
  }
  throw Napi::TypeError::New(v.Env(), "expected a Buffer, TypedArray, DataView or ArrayBuffer");
}

uint64_t BigIntArg(const Napi::Value& v) {
  bool lossless = false;
  return v.IsUndefined() ? 0 : v.As<Napi::BigInt>().Uint64Value(&lossless);
}

// crc32c(view, init): continues `init` over the bytes of the view.
Napi::Value Crc32cJs(const Napi::CallbackInfo& info) {
  const uint32_t init = info[1].IsUndefined() ? 0 : info[1].As<Napi::Number>().Uint32Value();
  auto [data, len] = BytesOf(info[0]);
  return Napi::Number::New(info.Env(), Crc32c(init, data, len));
}

Napi::Value Crc64NvmeJs(const Napi::CallbackInfo& info) {
  auto [data, len] = BytesOf(info[0]);
  return Napi::BigInt::New(info.Env(), Crc64Nvme(BigIntArg(info[1]), data, len));
}

Napi::Value Crc64NvmeCombineJs(const Napi::CallbackInfo& info) {
  return Napi::BigInt::New(info.Env(), Crc64NvmeCombine(BigIntArg(info[0]), BigIntArg(info[1]), LengthArg(info[2])));
}

Napi::Value Crc32cCombineJs(const Napi::CallbackInfo& info) {
  const uint32_t a = info[0].As<Napi::Number>().Uint32Value();
  const uint32_t b = info[1].As<Napi::Number>().Uint32Value();
  return Napi::Number::New(info.Env(), Crc32cCombine(a, b, LengthArg(info[2])));
}

// tryLockFile(fd): 1 locked, 0 held by another open file, -errno (see file_lock.h).
Napi::Value TryLockFileJs(const Napi::CallbackInfo& info) {
  if (!info[0].IsNumber()) throw Napi::TypeError::New(info.Env(), "expected a file descriptor");
  return Napi::Number::New(info.Env(), TryLockFile(info[0].As<Napi::Number>().Int32Value()));
}

// preallocate(fd, length): 0 done, or -errno (see file_space.h).
Napi::Value PreallocateJs(const Napi::CallbackInfo& info) {
  if (!info[0].IsNumber() || !info[1].IsNumber()) throw Napi::TypeError::New(info.Env(), "expected a file descriptor and a length");
  return Napi::Number::New(info.Env(), Preallocate(info[0].As<Napi::Number>().Int32Value(), info[1].As<Napi::Number>().Int64Value()));
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("sourceHash", RANGEPOOL_SOURCE_HASH);
  exports.Set("poisonByte", static_cast<double>(kPoisonByte));
  exports.Set("createPool", Napi::Function::New(env, CreatePoolJs));
  exports.Set("defaultPool", Napi::Function::New(env, DefaultPoolJs));
  exports.Set("attachPool", Napi::Function::New(env, AttachPoolJs));
  exports.Set("poolConfig", Napi::Function::New(env, PoolConfigJs));
  exports.Set("acquire", Napi::Function::New(env, AcquireJs));
  exports.Set("acquireAsync", Napi::Function::New(env, AcquireAsyncJs));
  exports.Set("release", Napi::Function::New(env, ReleaseJs));
  exports.Set("ownership", Napi::Function::New(env, OwnershipJs));
  exports.Set("lend", Napi::Function::New(env, LendJs));
  exports.Set("view", Napi::Function::New(env, ViewJs));
  exports.Set("unview", Napi::Function::New(env, UnviewJs));
  exports.Set("capacityFor", Napi::Function::New(env, CapacityForJs));
  exports.Set("stats", Napi::Function::New(env, StatsJs));
  exports.Set("trim", Napi::Function::New(env, TrimJs));
  exports.Set("noteWait", Napi::Function::New(env, NoteWaitJs));
  exports.Set("createWaker", Napi::Function::New(env, CreateWakerJs));
  exports.Set("watch", Napi::Function::New(env, WatchJs));
  exports.Set("crc32c", Napi::Function::New(env, Crc32cJs));
  exports.Set("crc32cCombine", Napi::Function::New(env, Crc32cCombineJs));
  exports.Set("crc32cHardware", Crc32cHardware());
  exports.Set("crc64nvme", Napi::Function::New(env, Crc64NvmeJs));
  exports.Set("crc64nvmeCombine", Napi::Function::New(env, Crc64NvmeCombineJs));
  exports.Set("tryLockFile", Napi::Function::New(env, TryLockFileJs));
  exports.Set("preallocate", Napi::Function::New(env, PreallocateJs));
  exports.Set("externalBuffersAllowed", Napi::Function::New(env, ExternalBuffersAllowedJs));
  InitTls(env, exports);
  return exports;
}

}  // namespace
}  // namespace rangepool

static Napi::Object InitRangepool(Napi::Env env, Napi::Object exports) { return rangepool::Init(env, exports); }
NODE_API_MODULE(rangepool, InitRangepool)
