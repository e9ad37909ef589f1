// The fallocate(2) system call itself, not posix_fallocate(3): glibc's emulates a missing one by writing a
// byte into every block, which would cost a second write of the whole file. Elsewhere: -ENOSYS.
#include "file_space.h"

#include <cerrno>

#ifdef __linux__
#include <fcntl.h>
#endif

namespace rangepool {

int Preallocate(int fd, int64_t length) {
#ifdef __linux__
  if (length <= 0) return 0;
  for (;;) {
    if (fallocate(fd, 0, 0, static_cast<off_t>(length)) == 0) return 0;
    if (errno != EINTR) return -errno;
  }
#else
  (void)fd;
  (void)length;
  return -ENOSYS;
#endif
}

}  // namespace rangepool
