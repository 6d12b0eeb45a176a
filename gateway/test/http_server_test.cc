// The HTTP server on its own, with handlers that answer at once, later from
// another thread, or with more than the socket takes at once: the paths a
// gateway request cannot steer.

#include "gateway/http_server.h"

#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <thread>

#include "support/http_client.h"

namespace propdesk::gateway {
namespace {

using namespace std::chrono_literals;
using test::ClientResponse;
using test::HttpClient;

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
    std::thread([respond = std::move(respond), response = std::move(response)]() mutable {
      std::this_thread::sleep_for(50ms);
      respond(std::move(response));
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
  ~Server() { server_.Stop(); }
  int port() const { return server_.port(); }

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
