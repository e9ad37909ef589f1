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

// The unit blocks are mapped in, and the page size (what a first write faults in). They differ on
// Windows: VirtualAlloc reserves in 64 KiB granules of 4 KiB pages.
struct Paging {
  size_t map_unit;
  size_t page;
};

const Paging& GetPaging() {
  static const Paging paging = [] {
#ifdef _WIN32
    SYSTEM_INFO info;
    GetSystemInfo(&info);
    return Paging{static_cast<size_t>(info.dwAllocationGranularity), static_cast<size_t>(info.dwPageSize)};
#else
    const size_t page = static_cast<size_t>(sysconf(_SC_PAGESIZE));
    return Paging{page, page};
#endif
  }();
  return paging;
}

size_t RoundToMapUnit(size_t n) {
  const size_t unit = GetPaging().map_unit;
  return (n + unit - 1) / unit * unit;
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


#if defined(__linux__) && !defined(MADV_POPULATE_WRITE)
#define MADV_POPULATE_WRITE 23  // Linux 5.14+; older headers (glibc 2.17's) lack the name
#endif

// Faults every page of a fresh block in now (the kernel zeroes them here, not at the first write). In
// steps: populating holds the process's mmap lock, and one call for a whole GiB made every mmap of the
// main thread (V8 growing its heap) wait seconds for it.
void Populate(void* p, size_t capacity) {
  constexpr size_t kStep = 4u << 20;
  unsigned char* bytes = static_cast<unsigned char*>(p);
  for (size_t at = 0; at < capacity; at += kStep) {
    const size_t n = std::min(kStep, capacity - at);
#ifdef MADV_POPULATE_WRITE
    if (madvise(bytes + at, n, MADV_POPULATE_WRITE) == 0) continue;  // EINVAL before Linux 5.14
#endif
    volatile unsigned char* page = bytes + at;
    for (size_t i = 0; i < n; i += GetPaging().page) page[i] = 0;
  }
}

size_t RoundUp(size_t n, size_t granule) { return (n + granule - 1) / granule * granule; }

}  // namespace

Pool::Pool(PoolConfig config)
    : config_(std::move(config)),
      granule_(RoundToMapUnit(std::min(kLargeGranule, config_.size_classes.empty() ? kLargeGranule : config_.size_classes.back() / 4))),
      idle_(config_.size_classes.size() + 1),
      returning_(config_.size_classes.size() + 1),
      out_count_(config_.size_classes.size() + 1),
      peak_out_(config_.size_classes.size() + 1) {}

Pool::~Pool() {
  for (const auto& list : idle_)
    for (const IdleBlock& b : list) UnmapBlock(b.data, b.capacity);
  for (const auto& [data, block] : out_) UnmapBlock(block.data, block.capacity);
}

// Classes larger than the cap are skipped: such a request gets a large block instead.
int Pool::ClassFor(size_t size) const {
  const auto& classes = config_.size_classes;
  auto it = std::lower_bound(classes.begin(), classes.end(), size);
  return it == classes.end() || *it > config_.max_bytes ? LargeList() : static_cast<int>(it - classes.begin());
}

// A large block is a multiple of the granule, or of the page where a granule would pass the cap.
size_t Pool::CapacityFor(size_t size) const {
  const int c = ClassFor(size);
  if (c != LargeList()) return config_.size_classes[c];
  const size_t granular = RoundUp(size, granule_);
  return granular <= config_.max_bytes ? granular : RoundToMapUnit(size);
}

void Pool::HandOutLocked(const Block& block) {
  stats_.taken++;
  Block& out = out_[block.data] = block;
  out.ticket = ++next_ticket_;
  last_activity_ = Clock::now();
}

AcquireStatus Pool::Acquire(size_t size, Block* out, bool wait_for_returning, bool reserve_only) {
  const int size_class = ClassFor(size);
  const size_t needed = CapacityFor(size);
  if (needed > config_.max_bytes) return AcquireStatus::kTooLarge;
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto& list = idle_[size_class];
    // The most recently returned block that fits: any of a class; of the large ones, the first whose
    // capacity is within the waste bound (what is mapped is never much more than what is asked).
    auto fit = list.rbegin();
    if (size_class == LargeList())
      fit = std::find_if(list.rbegin(), list.rend(), [&](const IdleBlock& b) {
        return b.capacity >= needed && b.capacity - needed <= needed / kLargeWasteDivisor;
      });
    if (fit != list.rend()) {
      const IdleBlock idle = *fit;
      list.erase(std::next(fit).base());
      stats_.idle_bytes -= idle.capacity;
      stats_.in_use_bytes += idle.capacity;
      stats_.peak_in_use_bytes = std::max(stats_.peak_in_use_bytes, stats_.in_use_bytes);
      stats_.reused++;
      peak_out_[size_class] = std::max(peak_out_[size_class], ++out_count_[size_class]);
      *out = Block{idle.data, idle.capacity, size_class};
      HandOutLocked(*out);
      return AcquireStatus::kOk;
    }
    if (wait_for_returning && returning_[size_class] > 0) return AcquireStatus::kReturning;
    if (!EvictIdleLocked(needed)) return AcquireStatus::kOverCap;
    // Reserve the bytes now so other threads see them while the block is mapped outside the lock.
    stats_.in_use_bytes += needed;
    stats_.peak_in_use_bytes = std::max(stats_.peak_in_use_bytes, stats_.in_use_bytes);
    peak_out_[size_class] = std::max(peak_out_[size_class], ++out_count_[size_class]);
    last_activity_ = Clock::now();
  }
  *out = Block{nullptr, needed, size_class};
  if (reserve_only) return AcquireStatus::kFresh;
  if (!MapReserved(out, false)) {
    Cancel(*out);
    return AcquireStatus::kNoMemory;
  }
  Adopt(*out, false);
  return AcquireStatus::kOk;
}

bool Pool::MapReserved(Block* block, bool populate) {
  block->data = MapBlock(block->capacity);
  if (block->data != nullptr && populate) Populate(block->data, block->capacity);
  return block->data != nullptr;
}

void Pool::Adopt(const Block& block, bool populated) {
  std::lock_guard<std::mutex> lock(mu_);
  stats_.fresh++;
  if (populated) stats_.prefaulted++;
  HandOutLocked(block);
}

void Pool::Cancel(const Block& block) {
  if (block.data != nullptr) UnmapBlock(block.data, block.capacity);
  {
    std::lock_guard<std::mutex> lock(mu_);
    stats_.in_use_bytes -= block.capacity;
    out_count_[block.size_class]--;
  }
  Notify();
}

bool Pool::Reclaim(void* data) {
  Block block;
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = out_.find(data);
    if (it == out_.end()) return false;
    if (it->second.views > 0) {
      // Another thread may still write into it: it comes back when the last view is given back.
      it->second.reclaim_pending = true;
      return true;
    }
    block = it->second;
    out_.erase(it);
    if (block.released) returning_[block.size_class]--;
  }
  // The block is ours alone now (still counted in use until it is filed below).
  if (config_.poison) std::memset(block.data, kPoisonByte, block.capacity);
  bool keep = false;
  {
    std::lock_guard<std::mutex> lock(mu_);
    const int c = block.size_class;
    stats_.returned++;
    stats_.in_use_bytes -= block.capacity;
    out_count_[c]--;
    last_activity_ = Clock::now();
    // Keep what the recent peak needed: as many idle as were ever out at once since the last trim.
    if (idle_[c].size() < std::min(config_.idle_per_class, peak_out_[c])) {
      idle_[c].push_back(IdleBlock{block.data, block.capacity, Clock::now()});
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
  if (!it->second.released) returning_[it->second.size_class]++;
  it->second.released = true;
  return true;
}

void* Pool::Borrow(const void* data, uint64_t ticket, size_t offset, size_t length) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = out_.find(data);
  if (it == out_.end()) return nullptr;
  Block& b = it->second;
  if (b.ticket != ticket || b.released || b.reclaim_pending || offset > b.capacity || length > b.capacity - offset) return nullptr;
  b.views++;
  stats_.views++;
  return static_cast<char*>(b.data) + offset;
}

void Pool::Unborrow(void* data) {
  bool reclaim = false;
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = out_.find(data);
    if (it == out_.end() || it->second.views == 0) return;
    stats_.views--;
    reclaim = --it->second.views == 0 && it->second.reclaim_pending;
  }
  if (reclaim) Reclaim(data);
}

uint64_t Pool::TicketOf(const void* data) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = out_.find(data);
  return it == out_.end() ? 0 : it->second.ticket;
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
  std::vector<IdleBlock> unmap;
  {
    std::lock_guard<std::mutex> lock(mu_);
    // Under steady load nothing is trimmed: only a pool that has been quiet as a whole gives memory back.
    if (min_idle_ms > 0 && Clock::now() - last_activity_ < std::chrono::milliseconds(min_idle_ms)) return 0;
    for (size_t c = 0; c < idle_.size(); ++c) {
      unmap.insert(unmap.end(), idle_[c].begin(), idle_[c].end());
      idle_[c].clear();
      peak_out_[c] = out_count_[c];  // retention follows the load from here on
    }
    for (const IdleBlock& b : unmap) {
      stats_.idle_bytes -= b.capacity;
      stats_.trimmed_bytes += b.capacity;
    }
  }
  uint64_t freed = 0;
  for (const IdleBlock& b : unmap) {
    UnmapBlock(b.data, b.capacity);
    freed += b.capacity;
  }
  if (freed > 0) Notify();
  return freed;
}

bool Pool::EvictIdleLocked(uint64_t needed) {
  while (stats_.in_use_bytes + stats_.idle_bytes + needed > config_.max_bytes) {
    // Evict the block that has been idle longest, whatever its list.
    int oldest = -1;
    for (size_t c = 0; c < idle_.size(); ++c) {
      if (idle_[c].empty()) continue;
      if (oldest < 0 || idle_[c].front().since < idle_[oldest].front().since) oldest = static_cast<int>(c);
    }
    if (oldest < 0) return false;
    auto& list = idle_[oldest];
    const IdleBlock b = list.front();
    UnmapBlock(b.data, b.capacity);
    list.erase(list.begin());
    stats_.idle_bytes -= b.capacity;
    stats_.trimmed_bytes += b.capacity;
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
