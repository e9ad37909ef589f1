// Reserving a file's blocks before its bytes arrive (Linux fallocate): a download that cannot fit fails at
// once instead of after gigabytes, and the file is laid out in one piece where the file system can. No Node-API here.
#pragma once

#include <cstdint>

namespace rangepool {

// Allocates the blocks of [0, length) of `fd` (its size is not changed past what it is). 0 done, or -errno:
// -ENOSPC/-EDQUOT/-EFBIG when it cannot fit, -EOPNOTSUPP/-ENOSYS where the file system or platform has no
// such call (nothing is emulated by writing zeros).
int Preallocate(int fd, int64_t length);

}  // namespace rangepool
