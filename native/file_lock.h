// An advisory lock on an open file that the kernel drops when its holder dies (flock): what tells a
// download whether the writer of a temporary file is still running, without trusting a pid. No Node-API here.
#pragma once

namespace rangepool {

// Tries to take the exclusive lock on `fd` without waiting: 1 taken, 0 held by another open file
// (another process, or another open of the same file in this one), or -errno (-ENOSYS where the
// platform has no flock). The lock lasts until the file is closed.
int TryLockFile(int fd);

}  // namespace rangepool
