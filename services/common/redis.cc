#include "common/redis.h"

#include <hiredis/hiredis.h>
#include <sys/socket.h>
#include <sys/time.h>

#include <cerrno>
#include <charconv>
#include <functional>
#include <utility>

#include "common/errors.h"

namespace propdesk::common {
namespace {

constexpr char kUnavailableReason[] = "REDIS_UNAVAILABLE";

timeval ToTimeval(std::chrono::milliseconds ms) {
  timeval tv{};
  tv.tv_sec = static_cast<time_t>(ms.count() / 1000);
  tv.tv_usec = static_cast<suseconds_t>((ms.count() % 1000) * 1000);
  return tv;
}

Error RedisUnavailable(const std::string& host, int port, const std::string& what) {
  return Error(ErrorKind::kUnavailable, kUnavailableReason,
               "Redis at " + host + ":" + std::to_string(port) + " is unavailable: " + what,
               {{"dependency", "redis"}});
}

RedisReply Convert(const redisReply& r) {
  RedisReply out;
  switch (r.type) {
    case REDIS_REPLY_STRING:
      out.type = RedisReply::Type::kString;
      out.str.assign(r.str, r.len);
      break;
    case REDIS_REPLY_STATUS:
      out.type = RedisReply::Type::kStatus;
      out.str.assign(r.str, r.len);
      break;
    case REDIS_REPLY_ERROR:
      out.type = RedisReply::Type::kError;
      out.str.assign(r.str, r.len);
      break;
    case REDIS_REPLY_INTEGER:
      out.type = RedisReply::Type::kInteger;
      out.integer = r.integer;
      break;
    case REDIS_REPLY_ARRAY:
      out.type = RedisReply::Type::kArray;
      out.elements.reserve(r.elements);
      for (size_t i = 0; i < r.elements; ++i) out.elements.push_back(Convert(*r.element[i]));
      break;
    default:  // REDIS_REPLY_NIL (RESP2 has nothing else)
      out.type = RedisReply::Type::kNil;
      break;
  }
  return out;
}

struct ReplyDeleter {
  void operator()(void* reply) const { freeReplyObject(reply); }
};
using ReplyPtr = std::unique_ptr<void, ReplyDeleter>;

// Argument vectors in hiredis' form; lengths make every argument binary-safe.
struct Argv {
  explicit Argv(const std::vector<std::string>& args) {
    ptrs.reserve(args.size());
    lens.reserve(args.size());
    for (const auto& a : args) {
      ptrs.push_back(a.data());
      lens.push_back(a.size());
    }
  }
  std::vector<const char*> ptrs;
  std::vector<size_t> lens;
};

void CheckArgv(const std::vector<std::string>& argv) {
  if (argv.empty()) throw InvalidArgument("argv", "a Redis command needs at least its name");
}

}  // namespace

RedisOptions ParseRedisAddr(std::string_view addr) {
  const auto colon = addr.rfind(':');
  if (colon == std::string_view::npos || colon == 0 || colon + 1 == addr.size()) {
    throw InvalidArgument(
        "REDIS_ADDR", "expected host:port, e.g. 127.0.0.1:6379, got \"" + std::string(addr) + "\"");
  }
  const std::string_view port_text = addr.substr(colon + 1);
  int port = 0;
  const auto [end, ec] =
      std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
  if (ec != std::errc() || end != port_text.data() + port_text.size() || port < 1 || port > 65535) {
    throw InvalidArgument("REDIS_ADDR", "port must be a number from 1 to 65535, got \"" +
                                            std::string(port_text) + "\"");
  }
  RedisOptions options;
  options.host = std::string(addr.substr(0, colon));
  options.port = port;
  return options;
}

// --- RedisConnection --------------------------------------------------------

RedisConnection::RedisConnection(std::string host, int port,
                                 std::chrono::milliseconds connect_timeout,
                                 std::chrono::milliseconds command_timeout)
    : host_(std::move(host)),
      port_(port),
      connect_timeout_(connect_timeout),
      command_timeout_(command_timeout) {}

RedisConnection::~RedisConnection() { Drop(); }

void RedisConnection::Drop() {
  if (ctx_ != nullptr) {
    redisFree(ctx_);
    ctx_ = nullptr;
  }
}

void RedisConnection::EnsureConnected() {
  if (ctx_ != nullptr) {
    // A connection that sat idle may have been closed by the server (restart,
    // timeout, CLIENT KILL). Peeking without blocking tells us before we send
    // anything, so a restarted Redis costs no failed command and a command is
    // never retried blindly (it could have run).
    char byte;
    const ssize_t n = ::recv(ctx_->fd, &byte, 1, MSG_PEEK | MSG_DONTWAIT);
    const bool alive = n > 0 || (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK));
    if (alive) return;
    Drop();
  }
  redisContext* ctx = redisConnectWithTimeout(host_.c_str(), port_, ToTimeval(connect_timeout_));
  if (ctx == nullptr) throw RedisUnavailable(host_, port_, "out of memory creating a context");
  if (ctx->err != 0) {
    const std::string why = ctx->errstr;
    redisFree(ctx);
    throw RedisUnavailable(host_, port_, "cannot connect: " + why);
  }
  if (command_timeout_.count() > 0 &&
      redisSetTimeout(ctx, ToTimeval(command_timeout_)) != REDIS_OK) {
    const std::string why = ctx->errstr;
    redisFree(ctx);
    throw RedisUnavailable(host_, port_, "cannot set the command timeout: " + why);
  }
  ctx_ = ctx;
}

RedisReply RedisConnection::Command(const std::vector<std::string>& argv) {
  CheckArgv(argv);
  EnsureConnected();
  Argv args(argv);
  ReplyPtr reply(redisCommandArgv(ctx_, static_cast<int>(args.ptrs.size()), args.ptrs.data(),
                                  args.lens.data()));
  if (reply == nullptr) {
    // NULL: I/O error, EOF or timeout. The stream is now out of step (a late
    // reply may still arrive), so the connection cannot be reused.
    const std::string why = ctx_->errstr;
    Drop();
    throw RedisUnavailable(host_, port_, argv[0] + " failed: " + why);
  }
  return Convert(*static_cast<redisReply*>(reply.get()));
}

std::vector<RedisReply> RedisConnection::Pipeline(
    const std::vector<std::vector<std::string>>& commands) {
  for (const auto& argv : commands) CheckArgv(argv);
  std::vector<RedisReply> replies;
  if (commands.empty()) return replies;
  EnsureConnected();
  for (const auto& argv : commands) {
    Argv args(argv);
    if (redisAppendCommandArgv(ctx_, static_cast<int>(args.ptrs.size()), args.ptrs.data(),
                               args.lens.data()) != REDIS_OK) {
      const std::string why = ctx_->errstr;
      Drop();
      throw RedisUnavailable(host_, port_, "pipeline append failed: " + why);
    }
  }
  replies.reserve(commands.size());
  for (size_t i = 0; i < commands.size(); ++i) {
    void* raw = nullptr;
    if (redisGetReply(ctx_, &raw) != REDIS_OK || raw == nullptr) {
      const std::string why = ctx_->errstr;
      Drop();
      throw RedisUnavailable(host_, port_, "pipeline failed at " + commands[i][0] + ": " + why);
    }
    ReplyPtr reply(raw);
    replies.push_back(Convert(*static_cast<redisReply*>(reply.get())));
  }
  return replies;
}

// --- RedisClient ------------------------------------------------------------

namespace {

// Returns a pooled connection on every path out of a command.
class Lease {
 public:
  Lease(std::unique_ptr<RedisConnection> conn,
        std::function<void(std::unique_ptr<RedisConnection>)> give)
      : conn_(std::move(conn)), give_(std::move(give)) {}
  ~Lease() { give_(std::move(conn_)); }
  RedisConnection* operator->() const { return conn_.get(); }

 private:
  std::unique_ptr<RedisConnection> conn_;
  std::function<void(std::unique_ptr<RedisConnection>)> give_;
};

}  // namespace

RedisClient::RedisClient(RedisOptions options) : options_(std::move(options)) {
  if (options_.pool_size < 1) throw InvalidArgument("pool_size", "must be at least 1");
}

RedisClient::~RedisClient() = default;

std::unique_ptr<RedisConnection> RedisClient::Take() {
  std::unique_lock lock(mu_);
  const bool ready = cv_.wait_for(lock, options_.checkout_timeout,
                                  [this] { return !idle_.empty() || open_ < options_.pool_size; });
  if (!ready) {
    throw Error(ErrorKind::kUnavailable, kUnavailableReason,
                "no Redis connection freed up within " +
                    std::to_string(options_.checkout_timeout.count()) +
                    " ms; raise the pool size or find what holds connections",
                {{"dependency", "redis"}});
  }
  if (!idle_.empty()) {
    auto conn = std::move(idle_.back());
    idle_.pop_back();
    return conn;
  }
  ++open_;
  lock.unlock();
  // Connecting happens lazily on the first command, outside the lock.
  return std::make_unique<RedisConnection>(options_.host, options_.port, options_.connect_timeout,
                                           options_.command_timeout);
}

void RedisClient::Give(std::unique_ptr<RedisConnection> conn) {
  {
    std::lock_guard lock(mu_);
    if (conn->healthy()) {
      idle_.push_back(std::move(conn));
    } else {
      --open_;  // dead: the next Take opens a fresh one
    }
  }
  cv_.notify_one();
}

RedisReply RedisClient::Command(const std::vector<std::string>& argv) {
  Lease conn(Take(), [this](std::unique_ptr<RedisConnection> c) { Give(std::move(c)); });
  return conn->Command(argv);
}

std::vector<RedisReply> RedisClient::Pipeline(
    const std::vector<std::vector<std::string>>& commands) {
  Lease conn(Take(), [this](std::unique_ptr<RedisConnection> c) { Give(std::move(c)); });
  return conn->Pipeline(commands);
}

std::unique_ptr<RedisConnection> RedisClient::Dedicated(std::chrono::milliseconds command_timeout) {
  return std::make_unique<RedisConnection>(options_.host, options_.port, options_.connect_timeout,
                                           command_timeout);
}

bool RedisClient::Ping() {
  try {
    const RedisReply reply = Command({"PING"});
    return reply.type == RedisReply::Type::kStatus && reply.str == "PONG";
  } catch (const Error&) {
    return false;
  }
}

}  // namespace propdesk::common
