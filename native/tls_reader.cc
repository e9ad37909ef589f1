#include "tls_reader.h"

#include <algorithm>
#include <atomic>
#include <vector>

#ifndef _WIN32
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <thread>
#endif

namespace rangepool::tls {

// Ciphertext read at once: large reads are most of what makes this cheaper than one callback per record.
constexpr size_t kInputBytes = 256 * 1024;

struct Worker;

struct Channel::Impl {
  std::mutex mu;
  int fd = -1;
  bool plain = false;
  RecordReader rec{kInputBytes};
  std::vector<uint8_t> early;  // plain: bytes read before the hand-over, landed first
  size_t early_at = 0;
  Notify notify;
  Worker* worker = nullptr;
  uint8_t* target = nullptr;
  size_t len = 0, filled = 0;
  bool fill = false, paused = false, closed = false, done = false;
  bool kick = false;           // a destination or a resume since the last look: try it without waiting for poll
  int64_t deadline_ms = 0;     // when bytes waiting in a body's destination are reported anyway (0: none)

  // Bytes that can land without reading the socket.
  bool HasOutput() const { return plain ? early_at < early.size() : rec.HasOutput(); }

  void Report(Event::End end, std::string error = {}) {
    auto* e = new Event{filled, end, std::move(error)};
    target = nullptr;
    len = filled = 0;
    deadline_ms = 0;
    notify(e);
  }
};

Channel::Channel(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Channel::~Channel() = default;

uint64_t Channel::records() const {
  std::lock_guard<std::mutex> lock(impl_->mu);
  return impl_->rec.records();
}

#ifdef _WIN32

bool ReaderAvailable() { return false; }
bool PlainReaderAvailable() { return false; }
std::shared_ptr<Channel> Channel::Open(int, const Keys&, const uint8_t*, size_t, Notify, std::string* error) {
  *error = "TLS in native code is not available on this platform";
  return nullptr;
}
void Channel::Target(uint8_t*, size_t, bool) {}
void Channel::Pause(bool) {}
void Channel::Close() {}

#else

namespace {

int64_t NowMs() {
  using namespace std::chrono;
  return duration_cast<milliseconds>(steady_clock::now().time_since_epoch()).count();
}

}  // namespace

// One I/O thread: polls the sockets of its channels that have somewhere to put bytes, and pumps them.
struct Worker {
  std::mutex mu;
  std::vector<std::shared_ptr<Channel>> channels;
  int wake_read = -1, wake_write = -1;

  void Wake() {
    const char c = 1;
    ssize_t r;
    do r = write(wake_write, &c, 1);
    while (r < 0 && errno == EINTR);  // EAGAIN: the pipe is full, so a wake-up is already pending
  }

  void Run() {
    // Named, so `top -H` and profilers show where decryption runs.
#if defined(__APPLE__)
    pthread_setname_np("rangepool-tls");
#elif defined(__linux__)
    pthread_setname_np(pthread_self(), "rangepool-tls");
#endif
    std::vector<std::shared_ptr<Channel>> list;
    std::vector<pollfd> fds;
    std::vector<int> slot;
    for (;;) {
      {
        std::lock_guard<std::mutex> lock(mu);
        // Closed channels leave here, and only here is their fd closed: no poll or read of it can be under way.
        channels.erase(std::remove_if(channels.begin(), channels.end(),
                                      [](const std::shared_ptr<Channel>& ch) {
                                        Channel::Impl& c = ch->impl();
                                        std::lock_guard<std::mutex> l(c.mu);
                                        if (!c.closed) return false;
                                        close(c.fd);
                                        c.fd = -1;
                                        return true;
                                      }),
                       channels.end());
        list = channels;
      }
      fds.assign(1, pollfd{wake_read, POLLIN, 0});
      slot.assign(list.size(), -1);
      int timeout = -1;
      const int64_t now = NowMs();
      for (size_t i = 0; i < list.size(); i++) {
        Channel::Impl& c = list[i]->impl();
        std::lock_guard<std::mutex> l(c.mu);
        if (c.closed || c.done || c.target == nullptr || c.paused) continue;
        if (c.kick || c.HasOutput()) timeout = 0;
        if (c.deadline_ms != 0) {
          const int wait = static_cast<int>(std::max<int64_t>(0, c.deadline_ms - now));
          timeout = timeout < 0 ? wait : std::min(timeout, wait);
        }
        slot[i] = static_cast<int>(fds.size());
        fds.push_back(pollfd{c.fd, POLLIN, 0});
      }
      if (poll(fds.data(), fds.size(), timeout) < 0 && errno != EINTR) continue;
      if (fds[0].revents != 0) {
        char drain[64];
        while (read(wake_read, drain, sizeof drain) > 0) {
        }
      }
      const int64_t later = NowMs();
      for (size_t i = 0; i < list.size(); i++) {
        if (slot[i] < 0) continue;
        Channel::Impl& c = list[i]->impl();
        std::lock_guard<std::mutex> l(c.mu);
        if (c.closed || c.done || c.target == nullptr || c.paused) continue;
        const bool due = c.deadline_ms != 0 && later >= c.deadline_ms;
        if (fds[slot[i]].revents != 0 || c.kick || due || c.HasOutput()) Pump(c, later);
      }
      list.clear();
    }
  }

  // Moves what the socket has into the destination, with the channel's lock held.
  static void Pump(Channel::Impl& c, int64_t now) {
    c.kick = false;
    if (c.plain ? PumpPlain(c) : PumpRecords(c)) return;
    // The socket has nothing more now.
    if (c.filled == 0) return;
    if (!c.fill || c.filled >= kPieceBytes || (c.deadline_ms != 0 && now >= c.deadline_ms)) return c.Report(Event::kNone);
    if (c.deadline_ms == 0) c.deadline_ms = now + kQuietMs;
  }

  // A plain connection: read straight into the destination. True once the destination was reported.
  static bool PumpPlain(Channel::Impl& c) {
    const size_t early = std::min(c.early.size() - c.early_at, c.len - c.filled);
    if (early > 0) {  // (memcpy from an empty vector's null data is undefined, even for no bytes)
      std::memcpy(c.target + c.filled, c.early.data() + c.early_at, early);
      c.early_at += early;
      c.filled += early;
    }
    for (;;) {
      if (c.filled == c.len) return c.Report(Event::kNone), true;
      const ssize_t r = read(c.fd, c.target + c.filled, c.len - c.filled);
      if (r > 0) {
        c.filled += static_cast<size_t>(r);
        continue;
      }
      if (r == 0) return c.done = true, c.Report(Event::kEof), true;
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) return false;
      // The errno's number, for the caller to name as Node names a socket's error.
      return c.done = true, c.Report(Event::kFailed, "errno " + std::to_string(errno)), true;
    }
  }

  // TLS: read ciphertext, land the records' plaintext. True once the destination was reported.
  static bool PumpRecords(Channel::Impl& c) {
    for (;;) {
      c.filled += c.rec.Drain(c.target + c.filled, c.len - c.filled);
      if (c.filled == c.len) return c.Report(Event::kNone), true;
      if (c.rec.state() != RecordReader::State::kOpen) {
        c.done = true;
        c.rec.state() == RecordReader::State::kClosed ? c.Report(Event::kClosed) : c.Report(Event::kFailed, c.rec.error());
        return true;
      }
      size_t room = 0;
      uint8_t* space = c.rec.Space(&room);
      const ssize_t r = room == 0 ? -1 : read(c.fd, space, room);
      if (r > 0) {
        c.rec.Received(static_cast<size_t>(r));
        continue;
      }
      if (r == 0) {
        c.done = true;
        c.rec.Partial() ? c.Report(Event::kFailed, "TLS: the connection ended inside a record") : c.Report(Event::kEof);
        return true;
      }
      if (room != 0 && errno == EINTR) continue;
      if (room != 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return false;
      c.done = true;
      c.Report(Event::kFailed, room == 0 ? std::string("TLS: no room for a record") : std::string("read: ") + std::strerror(errno));
      return true;
    }
  }
};

namespace {

// The I/O threads, made at the first channel and never stopped (detached; a process exits past them).
// RANGEPOOL_TLS_THREADS sets their number; by default half the cores, 1 to 8.
std::vector<Worker*>& Workers(std::string* error) {
  static std::vector<Worker*>* workers = nullptr;
  static std::once_flag once;
  std::call_once(once, [error] {
    auto* made = new std::vector<Worker*>();
    long n = std::max(1u, std::thread::hardware_concurrency() / 2);
    if (const char* env = std::getenv("RANGEPOOL_TLS_THREADS")) n = std::strtol(env, nullptr, 10);
    n = std::clamp(n, 1L, 8L);
    for (long i = 0; i < n; i++) {
      int p[2];
      if (pipe(p) != 0) break;
      for (int fd : p) {
        fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
        fcntl(fd, F_SETFD, FD_CLOEXEC);
      }
      auto* w = new Worker();
      w->wake_read = p[0];
      w->wake_write = p[1];
      try {
        std::thread([w] { w->Run(); }).detach();
      } catch (const std::exception& e) {
        *error = std::string("could not start a TLS I/O thread: ") + e.what();
        break;
      }
      made->push_back(w);
    }
    workers = made;
  });
  return *workers;
}

}  // namespace

bool ReaderAvailable() { return CryptoAvailable(); }
bool PlainReaderAvailable() { return true; }

std::shared_ptr<Channel> Channel::Open(int fd, const Keys& keys, const uint8_t* early, size_t early_len, Notify notify,
                                       std::string* error) {
  auto impl = std::make_unique<Impl>();
  impl->plain = keys.plain;
  if (keys.plain) {
    impl->early.assign(early, early + early_len);
  } else {
    if (!impl->rec.Init(keys.suite, keys.key, keys.key_len, keys.iv, keys.seq, keys.handshake, keys.handshake_len)) {
      *error = "TLS: this cipher suite or key is not available to native code";
      return nullptr;
    }
    size_t room = 0;
    uint8_t* space = impl->rec.Space(&room);
    if (early_len > room) {
      *error = "TLS: more early ciphertext than one record";
      return nullptr;
    }
    std::memcpy(space, early, early_len);
    impl->rec.Received(early_len);
  }
  std::vector<Worker*>& workers = Workers(error);
  if (workers.empty()) {
    if (error->empty()) *error = "no TLS I/O thread";
    return nullptr;
  }
  impl->fd = fcntl(fd, F_DUPFD_CLOEXEC, 0);
  if (impl->fd < 0) {
    *error = std::string("dup: ") + std::strerror(errno);
    return nullptr;
  }
  static std::atomic<size_t> next{0};
  Worker* w = workers[next++ % workers.size()];
  impl->worker = w;
  impl->notify = std::move(notify);
  auto ch = std::make_shared<Channel>(std::move(impl));
  {
    std::lock_guard<std::mutex> lock(w->mu);
    w->channels.push_back(ch);
  }
  return ch;
}

void Channel::Target(uint8_t* data, size_t len, bool fill) {
  {
    std::lock_guard<std::mutex> lock(impl_->mu);
    if (impl_->closed || impl_->done) return;
    impl_->target = data;
    impl_->len = len;
    impl_->filled = 0;
    impl_->fill = fill;
    impl_->kick = true;
  }
  impl_->worker->Wake();
}

void Channel::Pause(bool on) {
  {
    std::lock_guard<std::mutex> lock(impl_->mu);
    impl_->paused = on;
    if (!on) impl_->kick = true;
  }
  impl_->worker->Wake();
}

void Channel::Close() {
  {
    std::lock_guard<std::mutex> lock(impl_->mu);
    if (impl_->closed) return;
    impl_->closed = true;
    impl_->target = nullptr;
  }
  impl_->worker->Wake();
}

#endif

}  // namespace rangepool::tls
