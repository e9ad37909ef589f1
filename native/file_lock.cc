// flock(2) on POSIX systems; Windows has no lock on a C runtime fd that the addon could reach (its CRT's
// fd table is not node's), so the caller falls back to its own rules there.
#include "file_lock.h"

#include <cerrno>

#ifndef _WIN32
#include <sys/file.h>
#endif

namespace rangepool {

int TryLockFile(int fd) {
#ifdef _WIN32
  (void)fd;
  return -ENOSYS;
#else
  for (;;) {
    if (flock(fd, LOCK_EX | LOCK_NB) == 0) return 1;
    if (errno == EINTR) continue;
    return errno == EWOULDBLOCK ? 0 : -errno;
  }
#endif
}

}  // namespace rangepool
