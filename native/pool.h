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
  size_t idle_per_class = 1024;      // upper bound on idle blocks per class (retention follows the peak below it)
  size_t max_bytes = 0;              // cap on in-use + idle bytes
  uint64_t trim_after_ms = 10000;    // the pool idle (no acquire, no return) this long: idle blocks are unmapped; 0 = never
  bool poison = false;               // fill returned blocks with kPoisonByte (debug)
};

// Blocks above the largest class are multiples of a granule: 64 MiB, or a quarter of the largest class
// if that is smaller (so rounding wastes under a quarter). An idle one serves any request it exceeds by
// at most an eighth (capacity <= needed + needed / kLargeWasteDivisor): the waste bound of reuse.
constexpr size_t kLargeGranule = 64u << 20;
constexpr size_t kLargeWasteDivisor = 8;

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
  uint64_t prefaulted = 0;  // fresh blocks whose pages were faulted in before hand-out (off the event loop)
  uint64_t views = 0;       // borrowed views of blocks (Borrow) not given back yet
};

struct Block {
  void* data = nullptr;
  size_t capacity = 0;    // mapped bytes, >= the size asked for
  int size_class = -1;    // index into size_classes; size_classes.size() is the list of large blocks
  bool released = false;  // detached by release(), its finalizer not yet run
  uint64_t ticket = 0;    // unique per hand-out: a borrow names the hand-out, not just the address
  uint32_t views = 0;     // borrowed views (another thread writing into it) not given back yet
  bool reclaim_pending = false;  // its owner gave it back while views were out: it returns with the last
};

// kReturning: no idle block of the class, but a released one is on its way back (its finalizer runs
// at the next turn of the event loop); a caller that can wait should, rather than map a fresh block.
// kFresh: no idle block fits; its bytes are reserved against the cap and the caller maps it
// (MapReserved, on any thread), then hands it out (Adopt) or gives the reservation back (Cancel).
enum class AcquireStatus { kOk, kOverCap, kTooLarge, kNoMemory, kReturning, kFresh };

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
  // With `reserve_only`, a fresh block is not mapped here: kFresh, `out` describes the reservation.
  AcquireStatus Acquire(size_t size, Block* out, bool wait_for_returning = false, bool reserve_only = false);
  // For kFresh: maps the block (and with `populate` faults every page in, so the first write costs no
  // page faults). Takes no lock: run it on a worker thread. False when the OS has no memory.
  static bool MapReserved(Block* block, bool populate);
  void Adopt(const Block& block, bool populated);  // hands a mapped reservation out
  void Cancel(const Block& block);                 // gives a reservation back (unmapping it if mapped)
  // The JS release(): the buffer was detached, and its block comes back when the finalizer runs
  // (Reclaim). False if not out.
  bool Release(const void* data);
  // The block comes back (the finalizer of its ArrayBuffer, or a failed hand-out): kept idle or unmapped.
  // False if `data` is not a block of this pool that is out.
  bool Reclaim(void* data);
  bool IsOut(const void* data) const;
  // A view of bytes [offset, offset + length) of the block at `data`, for another thread to write into,
  // if that block is out under `ticket` (the same hand-out), not released, and the span fits. The block
  // does not come back (Reclaim waits) until every view is given back (Unborrow). Null when refused.
  void* Borrow(const void* data, uint64_t ticket, size_t offset, size_t length);
  void Unborrow(void* data);
  uint64_t TicketOf(const void* data) const;  // 0 when not out
  size_t CapacityOf(const void* data) const;  // 0 when not out
  // Unmaps every idle block when the pool has seen no acquire and no return for `min_idle_ms` (0: now),
  // and forgets the peaks retention follows. Returns the bytes unmapped.
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
    size_t capacity;
    Clock::time_point since;
  };

  int ClassFor(size_t size) const;
  int LargeList() const { return static_cast<int>(config_.size_classes.size()); }
  bool EvictIdleLocked(uint64_t needed);  // unmap idle blocks until `needed` more bytes fit the cap
  void HandOutLocked(const Block& block);
  void Notify();

  const PoolConfig config_;
  const size_t granule_;
  mutable std::mutex mu_;
  uint64_t next_ticket_ = 0;
  // Per class, and one more list for large blocks: back() is the most recently returned.
  std::vector<std::vector<IdleBlock>> idle_;
  std::vector<size_t> returning_;  // per list: released blocks whose finalizer has not run
  std::vector<size_t> out_count_;  // per list: blocks out (or reserved) now
  std::vector<size_t> peak_out_;   // per list: most blocks out at once since the last trim (what is kept idle)
  Clock::time_point last_activity_ = Clock::now();
  std::unordered_map<const void*, Block> out_;
  PoolStats stats_;

  std::mutex listeners_mu_;
  std::map<uint64_t, Listener> listeners_;
  uint64_t next_listener_id_ = 1;
};

}  // namespace rangepool
