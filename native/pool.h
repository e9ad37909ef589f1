// The buffer pool core: size-classed blocks from mmap, idle lists, a byte cap, idle trim.
// No Node-API here: the glue (addon.cc) is the only file that knows about JavaScript.
// Thread-safe: finalizers of buffers made in different worker threads run on their own threads.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <unordered_map>
#include <vector>

namespace rangepool {

struct PoolConfig {
  std::vector<size_t> size_classes;  // ascending block sizes in bytes
  size_t idle_per_class = 16;        // idle blocks kept per class after return
  size_t max_bytes = 0;              // cap on in-use + idle bytes
  uint64_t trim_after_ms = 10000;    // idle blocks older than this may be trimmed; 0 = never
  bool poison = false;               // fill returned blocks with kPoisonByte (debug)
};

struct PoolStats {
  uint64_t taken = 0;
  uint64_t returned = 0;
  uint64_t fresh = 0;
  uint64_t reused = 0;
  uint64_t waits = 0;
  uint64_t in_use_bytes = 0;
  uint64_t idle_bytes = 0;
  uint64_t peak_in_use_bytes = 0;
  uint64_t trimmed_bytes = 0;
};

struct Block {
  void* data = nullptr;
  size_t capacity = 0;    // mapped bytes, >= the size asked for
  int size_class = -1;    // index into size_classes, -1 for an oversize block
  bool released = false;  // detached by release(), its finalizer not yet run
};

// kReturning: no idle block of the class, but a released one is on its way back (its finalizer runs
// at the next turn of the event loop); a caller that can wait should, rather than map a fresh block.
enum class AcquireStatus { kOk, kOverCap, kTooLarge, kNoMemory, kReturning };

constexpr unsigned char kPoisonByte = 0xDB;

class Pool {
 public:
  using Listener = std::function<void()>;

  explicit Pool(PoolConfig config);
  ~Pool();  // unmaps idle blocks and any block still out (only at teardown)
  Pool(const Pool&) = delete;
  Pool& operator=(const Pool&) = delete;

  // A block of at least `size` bytes (size > 0), or why not. Never blocks: waiting is the caller's job.
  // With `wait_for_returning`, answers kReturning instead of mapping fresh when a block is on its way back.
  AcquireStatus Acquire(size_t size, Block* out, bool wait_for_returning = false);
  // The JS release(): the buffer was detached, and its block comes back when the finalizer runs
  // (Reclaim). False if not out.
  bool Release(const void* data);
  // The block comes back (the finalizer of its ArrayBuffer, or a failed hand-out): kept idle or unmapped.
  // False if `data` is not a block of this pool that is out.
  bool Reclaim(void* data);
  bool IsOut(const void* data) const;
  size_t CapacityOf(const void* data) const;  // 0 when not out
  // Unmaps idle blocks idle for at least `min_idle_ms` (0: all of them). Returns the bytes unmapped.
  uint64_t Trim(uint64_t min_idle_ms);
  void NoteWait();
  PoolStats Stats() const;
  const PoolConfig& config() const { return config_; }
  // The block size a request of `size` bytes occupies (what counts against the cap).
  size_t CapacityFor(size_t size) const;

  // Listeners run after memory comes back (a block returned or unmapped), outside the pool lock.
  // RemoveListener returns only once no call to that listener is running.
  uint64_t AddListener(Listener listener);
  void RemoveListener(uint64_t id);

 private:
  using Clock = std::chrono::steady_clock;
  struct IdleBlock {
    void* data;
    Clock::time_point since;
  };

  int ClassFor(size_t size) const;
  bool EvictIdleLocked(uint64_t needed);  // unmap idle blocks until `needed` more bytes fit the cap
  void Notify();

  const PoolConfig config_;
  mutable std::mutex mu_;
  std::vector<std::vector<IdleBlock>> idle_;  // per class; back() is the most recently returned
  std::vector<size_t> returning_;             // per class: released blocks whose finalizer has not run
  std::unordered_map<const void*, Block> out_;
  PoolStats stats_;

  std::mutex listeners_mu_;
  std::map<uint64_t, Listener> listeners_;
  uint64_t next_listener_id_ = 1;
};

}  // namespace rangepool
