// The HTTP server on its own, with handlers that answer at once, later from
// another thread, or with more than the socket takes at once: the paths a
// gateway request cannot steer.

#include "gateway/http_server.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "support/http_client.h"

namespace propdesk::gateway {
namespace {

using namespace std::chrono_literals;
using test::ClientResponse;
using test::HttpClient;

// Responses of "/later" not yet sent: the server must outlive them.
std::atomic<int> g_later_pending{0};

// Answers with `path` and a body of the length the query asks for
// ("/any?bytes=1000000"); "/later" answers 50 ms later from another thread.
void Handle(HttpRequest request, Respond respond) {
  HttpResponse response;
  response.content_type = "text/plain";
  const std::string_view query = request.Query();
  response.body = std::string(request.Path());
  if (query.starts_with("bytes=")) {
    response.body.resize(std::stoul(std::string(query.substr(6))), 'b');
  }
  if (request.Path() == "/later") {
    ++g_later_pending;
    std::thread([respond = std::move(respond), response = std::move(response)]() mutable {
      std::this_thread::sleep_for(50ms);
      respond(std::move(response));
      --g_later_pending;
    }).detach();
    return;
  }
  respond(std::move(response));
}

class Server {
 public:
  explicit Server(HttpServerOptions options) : server_(WithLoopback(options), Handle, nullptr) {
    server_.Start();
  }
  ~Server() {
    while (g_later_pending.load() > 0) std::this_thread::sleep_for(5ms);
    server_.Stop();
  }
  int port() const { return server_.port(); }
  int connections() const { return server_.connections(); }

 private:
  static HttpServerOptions WithLoopback(HttpServerOptions options) {
    options.host = "127.0.0.1";
    return options;
  }
  HttpServer server_;
};

TEST(HttpServerTest, AResponseLargerThanTheSocketTakesReachesASlowReader) {
  // 1 MB is more than the server's send buffer and the client's window
  // together, so the server's first send takes only part of it.
  Server server({.send_buffer_bytes = 8192});
  HttpClient client(server.port());
  client.WriteRaw(HttpClient::Format("GET", "/big?bytes=1000000"));
  std::this_thread::sleep_for(200ms);  // the client is not reading yet
  const ClientResponse r = client.ReadResponse();
  EXPECT_EQ(r.status, 200);
  ASSERT_EQ(r.body.size(), 1000000u);
  EXPECT_EQ(r.body.find_first_not_of('b', 4), std::string::npos);
  EXPECT_EQ(client.Send("GET", "/next").body, "/next") << "and the connection goes on";
}

TEST(HttpServerTest, AClientThatStopsReadingIsCutOffAfterTheWriteTimeout) {
  Server server({.write_timeout = 300ms, .send_buffer_bytes = 8192});
  HttpClient client(server.port());
  client.WriteRaw(HttpClient::Format("GET", "/big?bytes=1000000"));
  std::this_thread::sleep_for(1s);  // reads nothing past the write timeout
  EXPECT_THROW(client.ReadResponse(), std::runtime_error) << "the response was cut off";
}

TEST(HttpServerTest, ResponsesFromAnotherThreadAndAtOnceKeepTheirOrder) {
  Server server({});
  HttpClient client(server.port());
  std::string batch;
  for (int i = 0; i < 3; ++i) {
    batch += HttpClient::Format("GET", "/later");
    batch += HttpClient::Format("GET", "/now" + std::to_string(i));
  }
  client.WriteRaw(batch);
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(client.ReadResponse().body, "/later");
    EXPECT_EQ(client.ReadResponse().body, "/now" + std::to_string(i));
  }
}

// Each pipelined request answered at once is parsed afresh on an I/O
// thread, not deeper in the stack of the one before.
TEST(HttpServerTest, ThousandsOfPipelinedRequestsAnsweredAtOnce) {
  Server server({});
  HttpClient client(server.port());
  constexpr int kRequests = 2000;  // ~200 KB of answers: within the socket buffers
  std::string batch;
  for (int i = 0; i < kRequests; ++i) batch += HttpClient::Format("GET", "/" + std::to_string(i));
  client.WriteRaw(batch);
  for (int i = 0; i < kRequests; ++i) {
    ASSERT_EQ(client.ReadResponse().body, "/" + std::to_string(i));
  }
}

// Clients leaving at every point of an exchange, from several threads at
// once, including while their response is being made on another thread:
// every connection is closed and counted out, and the server goes on.
TEST(HttpServerTest, ClientsLeavingAtAnyPointLeaveNothingBehind) {
  Server server({.max_body_bytes = 1024});
  const std::string get = HttpClient::Format("GET", "/x");
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 40; ++i) {
        HttpClient client(server.port());
        switch ((i + t) % 5) {
          case 0:  // a whole exchange
            EXPECT_EQ(client.Send("GET", "/x").body, "/x");
            break;
          case 1:  // gone while the response is being made elsewhere
            client.WriteRaw(HttpClient::Format("GET", "/later"));
            break;
          case 2:  // gone in the middle of a request
            client.WriteRaw(std::string_view(get).substr(0, get.size() / 2));
            break;
          case 3:  // three pipelined, one answer read
            client.WriteRaw(get + get + get);
            EXPECT_EQ(client.ReadResponse().body, "/x");
            break;
          case 4:  // refused (413) and closed by the server
            client.WriteRaw(HttpClient::Format("POST", "/x", std::string(4096, 'b')));
            EXPECT_EQ(client.ReadResponse().status, 413);
            break;
        }
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  const auto deadline = std::chrono::steady_clock::now() + 5s;
  while (server.connections() > 0 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(10ms);
  }
  EXPECT_EQ(server.connections(), 0);
  EXPECT_EQ(HttpClient(server.port()).Send("GET", "/after").body, "/after");
}

TEST(HttpServerTest, Http10KeepsTheConnectionOnlyWhenAsked) {
  Server server({});
  HttpClient client(server.port());
  client.WriteRaw("GET /a HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
  const ClientResponse kept = client.ReadResponse();
  EXPECT_EQ(kept.body, "/a");
  EXPECT_TRUE(kept.keep_alive);
  client.WriteRaw("GET /b HTTP/1.0\r\n\r\n");
  const ClientResponse closed = client.ReadResponse();
  EXPECT_EQ(closed.body, "/b");
  EXPECT_FALSE(closed.keep_alive);
  EXPECT_TRUE(client.WaitForClose(3s));
}

}  // namespace
}  // namespace propdesk::gateway
