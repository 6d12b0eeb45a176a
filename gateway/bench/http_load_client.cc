#include "http_load_client.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <charconv>
#include <cstdlib>
#include <stdexcept>
#include <string_view>

namespace propdesk::bench {
namespace {

int Connect(int port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (fd < 0 || ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    if (fd >= 0) ::close(fd);
    throw std::runtime_error("bench_gateway: cannot connect to the gateway");
  }
  const int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  return fd;
}

// Whether `text` starts with `prefix`, ignoring ASCII case.
bool StartsWithNoCase(std::string_view text, std::string_view prefix) {
  if (text.size() < prefix.size()) return false;
  for (size_t i = 0; i < prefix.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(text[i])) != prefix[i]) return false;
  }
  return true;
}

// The length of the response at the start of `input` once it is all there
// (headers and a Content-Length body), else 0; its status code in `status`.
// Read in place: the client's own cost is part of what the bench measures.
size_t CompleteResponse(std::string_view input, int* status) {
  const size_t header_end = input.find("\r\n\r\n");
  if (header_end == std::string_view::npos) return 0;
  const std::string_view head = input.substr(0, header_end + 2);  // each line ends in CRLF
  const size_t space = head.find(' ');
  int code = 0;
  std::from_chars(head.data() + space + 1, head.data() + head.size(), code);
  *status = code;
  size_t body = 0;
  for (size_t line = head.find("\r\n"); line != std::string_view::npos;
       line = head.find("\r\n", line + 2)) {
    const std::string_view rest = head.substr(line + 2);
    if (!StartsWithNoCase(rest, "content-length:")) continue;
    size_t at = 15;
    while (at < rest.size() && rest[at] == ' ') ++at;
    std::from_chars(rest.data() + at, rest.data() + rest.size(), body);
    break;
  }
  const size_t total = header_end + 4 + body;
  return input.size() >= total ? total : 0;
}

}  // namespace

HttpLoadClient::HttpLoadClient(int port, int connections)
    : epoll_fd_(::epoll_create1(EPOLL_CLOEXEC)), wake_fd_(::eventfd(0, EFD_CLOEXEC)) {
  if (epoll_fd_ < 0 || wake_fd_ < 0) throw std::runtime_error("bench_gateway: no epoll");
  epoll_event wake{};
  wake.events = EPOLLIN;
  wake.data.u64 = ~uint64_t{0};
  ::epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, wake_fd_, &wake);
  for (int slot = 0; slot < connections; ++slot) {
    auto c = std::make_unique<Connection>();
    c->fd = Connect(port);
    epoll_event event{};
    event.events = EPOLLIN;
    event.data.u64 = static_cast<uint64_t>(slot);
    ::epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, c->fd, &event);
    connections_.push_back(std::move(c));
  }
  thread_ = std::thread([this] { Loop(); });
}

HttpLoadClient::~HttpLoadClient() {
  stop_ = true;
  const uint64_t one = 1;
  [[maybe_unused]] const ssize_t n = ::write(wake_fd_, &one, sizeof(one));
  thread_.join();
  for (const auto& c : connections_) ::close(c->fd);
  ::close(wake_fd_);
  ::close(epoll_fd_);
}

void HttpLoadClient::Send(int slot, std::string request, Done done) {
  Connection& c = *connections_[static_cast<size_t>(slot)];
  bool failed;
  bool more;
  {
    std::lock_guard lock(c.mu);
    c.done = std::move(done);
    c.output = std::move(request);
    failed = !Flush(c);
    more = !c.output.empty();
    if (failed) done = std::move(c.done);
  }
  if (failed) {
    done(0);
    return;
  }
  if (more) WatchOutput(slot, true);  // the socket buffer is full: the loop writes the rest
}

bool HttpLoadClient::Flush(Connection& c) {
  while (!c.output.empty()) {
    const ssize_t n = ::send(c.fd, c.output.data(), c.output.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n < 0) return errno == EAGAIN || errno == EWOULDBLOCK;
    c.output.erase(0, static_cast<size_t>(n));
  }
  return true;
}

HttpLoadClient::Done HttpLoadClient::Receive(Connection& c, int* status) {
  std::lock_guard lock(c.mu);
  char chunk[16384];
  const ssize_t n = ::recv(c.fd, chunk, sizeof(chunk), MSG_DONTWAIT);
  if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK)) {
    *status = 0;  // the gateway closed the connection: no more events from it
    ::epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, c.fd, nullptr);
    return std::move(c.done);
  }
  if (n > 0) c.input.append(chunk, static_cast<size_t>(n));
  const size_t length = CompleteResponse(c.input, status);
  if (length == 0) return nullptr;
  c.input.erase(0, length);
  return std::move(c.done);
}

void HttpLoadClient::WatchOutput(int slot, bool on) {
  epoll_event event{};
  event.events = EPOLLIN | (on ? EPOLLOUT : 0u);
  event.data.u64 = static_cast<uint64_t>(slot);
  ::epoll_ctl(epoll_fd_, EPOLL_CTL_MOD, connections_[static_cast<size_t>(slot)]->fd, &event);
}

void HttpLoadClient::Loop() {
  epoll_event events[128];
  while (!stop_) {
    const int n = ::epoll_wait(epoll_fd_, events, 128, -1);
    for (int i = 0; i < n; ++i) {
      if (events[i].data.u64 == ~uint64_t{0}) continue;  // woken to stop
      const int slot = static_cast<int>(events[i].data.u64);
      Connection& c = *connections_[static_cast<size_t>(slot)];
      if (events[i].events & EPOLLOUT) {
        std::lock_guard lock(c.mu);
        Flush(c);
        if (c.output.empty()) WatchOutput(slot, false);
      }
      if (events[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR)) {
        int status = 0;
        if (Done done = Receive(c, &status)) done(status);
      }
    }
  }
}

}  // namespace propdesk::bench
