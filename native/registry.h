// Every pool of the process, by id, so worker threads can share one and `release(buf)` can find the
// owner of any buffer. No Node-API here.
#pragma once

#include <cstdint>
#include <memory>

#include "pool.h"

namespace rangepool {

// A new pool with its own id (ids start at 2; 1 is the default pool).
std::shared_ptr<Pool> CreatePool(PoolConfig config, uint32_t* id);
// The process's shared pool, made from `config` by whichever thread asks first.
std::shared_ptr<Pool> DefaultPool(const PoolConfig& config);
constexpr uint32_t kDefaultPoolId = 1;
// A live pool by id, or null.
std::shared_ptr<Pool> FindPool(uint32_t id);
// The pool that has the block at `data` out, or null.
std::shared_ptr<Pool> FindOwner(const void* data, uint32_t* id);

}  // namespace rangepool
