#include "pool.h"

#ifdef _WIN32
#define WIN32_LEAN_AND_MEAN
#include <windows.h>
#else
#include <sys/mman.h>
#include <unistd.h>
#endif

#include <algorithm>
#include <cstring>

namespace rangepool {
namespace {

#ifdef MADV_HUGEPAGE
constexpr size_t kHugePage = 2u << 20;
#endif

size_t PageSize() {
#ifdef _WIN32
  // VirtualAlloc reserves at this granularity (64 KiB), which is also page aligned.
  static const size_t page = [] {
    SYSTEM_INFO info;
    GetSystemInfo(&info);
    return static_cast<size_t>(info.dwAllocationGranularity);
  }();
#else
  static const size_t page = static_cast<size_t>(sysconf(_SC_PAGESIZE));
#endif
  return page;
}

size_t RoundToPage(size_t n) {
  const size_t page = PageSize();
  return (n + page - 1) / page * page;
}

// Page aligned (O_DIRECT works on it) and untouched: pages fault in on first write.
void* MapBlock(size_t capacity) {
#ifdef _WIN32
  return VirtualAlloc(nullptr, capacity, MEM_RESERVE | MEM_COMMIT, PAGE_READWRITE);
#else
  void* p = mmap(nullptr, capacity, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) return nullptr;
#ifdef MADV_HUGEPAGE
  // Fewer page faults and TLB misses on first touch; the kernel may say no, which is fine.
  if (capacity >= kHugePage) madvise(p, capacity, MADV_HUGEPAGE);
#endif
  return p;
#endif
}

void UnmapBlock(void* p, size_t capacity) {
#ifdef _WIN32
  (void)capacity;  // MEM_RELEASE frees the whole reservation
  VirtualFree(p, 0, MEM_RELEASE);
#else
  munmap(p, capacity);
#endif
}

}  // namespace

Pool::Pool(PoolConfig config)
    : config_(std::move(config)), idle_(config_.size_classes.size()), returning_(config_.size_classes.size()) {}

Pool::~Pool() {
  for (size_t c = 0; c < idle_.size(); ++c)
    for (const IdleBlock& b : idle_[c]) UnmapBlock(b.data, config_.size_classes[c]);
  for (const auto& [data, block] : out_) UnmapBlock(block.data, block.capacity);
}

// Classes larger than the cap are skipped: such a request gets an exact-size block instead.
int Pool::ClassFor(size_t size) const {
  const auto& classes = config_.size_classes;
  auto it = std::lower_bound(classes.begin(), classes.end(), size);
  return it == classes.end() || *it > config_.max_bytes ? -1 : static_cast<int>(it - classes.begin());
}

size_t Pool::CapacityFor(size_t size) const {
  int c = ClassFor(size);
  return c < 0 ? RoundToPage(size) : config_.size_classes[c];
}

AcquireStatus Pool::Acquire(size_t size, Block* out, bool wait_for_returning) {
  const int size_class = ClassFor(size);
  const size_t capacity = CapacityFor(size);
  if (capacity > config_.max_bytes) return AcquireStatus::kTooLarge;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (size_class >= 0 && !idle_[size_class].empty()) {
      IdleBlock idle = idle_[size_class].back();
      idle_[size_class].pop_back();
      stats_.idle_bytes -= capacity;
      stats_.in_use_bytes += capacity;
      stats_.peak_in_use_bytes = std::max(stats_.peak_in_use_bytes, stats_.in_use_bytes);
      stats_.taken++;
      stats_.reused++;
      *out = Block{idle.data, capacity, size_class};
      out_[idle.data] = *out;
      return AcquireStatus::kOk;
    }
    if (wait_for_returning && size_class >= 0 && returning_[size_class] > 0) return AcquireStatus::kReturning;
    if (!EvictIdleLocked(capacity)) return AcquireStatus::kOverCap;
    // Reserve the bytes now so other threads see them while we map outside the lock.
    stats_.in_use_bytes += capacity;
    stats_.peak_in_use_bytes = std::max(stats_.peak_in_use_bytes, stats_.in_use_bytes);
  }
  void* data = MapBlock(capacity);
  std::lock_guard<std::mutex> lock(mu_);
  if (data == nullptr) {
    stats_.in_use_bytes -= capacity;
    return AcquireStatus::kNoMemory;
  }
  stats_.taken++;
  stats_.fresh++;
  *out = Block{data, capacity, size_class};
  out_[data] = *out;
  return AcquireStatus::kOk;
}

bool Pool::Reclaim(void* data) {
  Block block;
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = out_.find(data);
    if (it == out_.end()) return false;
    block = it->second;
    out_.erase(it);
    if (block.released && block.size_class >= 0) returning_[block.size_class]--;
  }
  // The block is ours alone now (still counted in use until it is filed below).
  if (config_.poison) std::memset(block.data, kPoisonByte, block.capacity);
  bool keep = false;
  {
    std::lock_guard<std::mutex> lock(mu_);
    stats_.returned++;
    stats_.in_use_bytes -= block.capacity;
    if (block.size_class >= 0 && idle_[block.size_class].size() < config_.idle_per_class) {
      idle_[block.size_class].push_back(IdleBlock{block.data, Clock::now()});
      stats_.idle_bytes += block.capacity;
      keep = true;
    }
  }
  if (!keep) UnmapBlock(block.data, block.capacity);
  Notify();
  return true;
}

bool Pool::Release(const void* data) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = out_.find(data);
  if (it == out_.end()) return false;
  if (!it->second.released && it->second.size_class >= 0) returning_[it->second.size_class]++;
  it->second.released = true;
  return true;
}

bool Pool::IsOut(const void* data) const {
  std::lock_guard<std::mutex> lock(mu_);
  return out_.count(data) != 0;
}

size_t Pool::CapacityOf(const void* data) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = out_.find(data);
  return it == out_.end() ? 0 : it->second.capacity;
}

uint64_t Pool::Trim(uint64_t min_idle_ms) {
  std::vector<std::pair<void*, size_t>> unmap;
  {
    std::lock_guard<std::mutex> lock(mu_);
    const auto cutoff = Clock::now() - std::chrono::milliseconds(min_idle_ms);
    for (size_t c = 0; c < idle_.size(); ++c) {
      auto& list = idle_[c];
      // Oldest first; keep the ones returned recently.
      auto keep_from = std::find_if(list.begin(), list.end(),
                                    [&](const IdleBlock& b) { return min_idle_ms > 0 && b.since > cutoff; });
      for (auto it = list.begin(); it != keep_from; ++it) unmap.emplace_back(it->data, config_.size_classes[c]);
      list.erase(list.begin(), keep_from);
    }
    for (const auto& [data, capacity] : unmap) {
      stats_.idle_bytes -= capacity;
      stats_.trimmed_bytes += capacity;
    }
  }
  uint64_t freed = 0;
  for (const auto& [data, capacity] : unmap) {
    UnmapBlock(data, capacity);
    freed += capacity;
  }
  if (freed > 0) Notify();
  return freed;
}

bool Pool::EvictIdleLocked(uint64_t needed) {
  while (stats_.in_use_bytes + stats_.idle_bytes + needed > config_.max_bytes) {
    // Evict the block that has been idle longest, whatever its class.
    int oldest = -1;
    for (size_t c = 0; c < idle_.size(); ++c) {
      if (idle_[c].empty()) continue;
      if (oldest < 0 || idle_[c].front().since < idle_[oldest].front().since) oldest = static_cast<int>(c);
    }
    if (oldest < 0) return false;
    auto& list = idle_[oldest];
    const size_t capacity = config_.size_classes[oldest];
    UnmapBlock(list.front().data, capacity);
    list.erase(list.begin());
    stats_.idle_bytes -= capacity;
    stats_.trimmed_bytes += capacity;
  }
  return true;
}

void Pool::NoteWait() {
  std::lock_guard<std::mutex> lock(mu_);
  stats_.waits++;
}

PoolStats Pool::Stats() const {
  std::lock_guard<std::mutex> lock(mu_);
  return stats_;
}

uint64_t Pool::AddListener(Listener listener) {
  std::lock_guard<std::mutex> lock(listeners_mu_);
  const uint64_t id = next_listener_id_++;
  listeners_.emplace(id, std::move(listener));
  return id;
}

void Pool::RemoveListener(uint64_t id) {
  std::lock_guard<std::mutex> lock(listeners_mu_);
  listeners_.erase(id);
}

void Pool::Notify() {
  std::lock_guard<std::mutex> lock(listeners_mu_);
  for (auto& [id, listener] : listeners_) listener();
}

}  // namespace rangepool
