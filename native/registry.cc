#include "registry.h"

#include <map>
#include <mutex>

namespace rangepool {
namespace {

struct Registry {
  std::mutex mu;
  std::map<uint32_t, std::weak_ptr<Pool>> pools;
  std::shared_ptr<Pool> default_pool;  // kept for the life of the process
  uint32_t next_id = kDefaultPoolId + 1;
};

// Deliberately leaked: no static destructor may race with finalizers still running on worker threads
// while the process exits.
Registry& registry() {
  static Registry* r = new Registry();
  return *r;
}

}  // namespace

std::shared_ptr<Pool> CreatePool(PoolConfig config, uint32_t* id) {
  auto pool = std::make_shared<Pool>(std::move(config));
  Registry& r = registry();
  std::lock_guard<std::mutex> lock(r.mu);
  // Forget pools that are gone so the map does not grow with every short-lived pool.
  for (auto it = r.pools.begin(); it != r.pools.end();) it = it->second.expired() ? r.pools.erase(it) : ++it;
  *id = r.next_id++;
  r.pools[*id] = pool;
  return pool;
}

std::shared_ptr<Pool> DefaultPool(const PoolConfig& config) {
  Registry& r = registry();
  std::lock_guard<std::mutex> lock(r.mu);
  if (!r.default_pool) {
    r.default_pool = std::make_shared<Pool>(config);
    r.pools[kDefaultPoolId] = r.default_pool;
  }
  return r.default_pool;
}

std::shared_ptr<Pool> FindPool(uint32_t id) {
  Registry& r = registry();
  std::lock_guard<std::mutex> lock(r.mu);
  auto it = r.pools.find(id);
  return it == r.pools.end() ? nullptr : it->second.lock();
}

std::shared_ptr<Pool> FindOwner(const void* data, uint32_t* id) {
  Registry& r = registry();
  std::lock_guard<std::mutex> lock(r.mu);
  for (const auto& [pool_id, weak] : r.pools) {
    auto pool = weak.lock();
    if (pool && pool->IsOut(data)) {
      *id = pool_id;
      return pool;
    }
  }
  return nullptr;
}

}  // namespace rangepool
