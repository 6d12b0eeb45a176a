#pragma once

// An in-process upstream for gateway tests: EchoService and TranscodeService
// (proto/propdesk/testing/v1) plus the gRPC health service, on a loopback
// port. It behaves like a propdesk service where the gateway's behaviour
// depends on it:
//  - verifies the caller's bearer token itself (UNAUTHENTICATED otherwise);
//  - enforces site scope (rule C-1): sites s1, s2, s3 belong to group g1,
//    and a site the caller may not use answers NOT_FOUND like a missing one;
//  - Echo emulates idempotency (rule C-8) on request_id: a repeat replays
//    the stored response, a concurrent duplicate gets ABORTED
//    REQUEST_IN_PROGRESS, another payload INVALID_ARGUMENT REQUEST_ID_REUSED;
//  - Echo with message "hold" is parked until ReleaseHeld() (to test
//    concurrency and deadlines without sleeping);
//  - Echo with fail_with = N fails with gRPC code N and an ErrorInfo;
//  - every call's metadata (authorization, x-request-id, deadline) and
//    request is recorded.
// TranscodeService answers with the request it received.

#include <grpcpp/grpcpp.h>

#include <chrono>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "common/jwt.h"

namespace propdesk::gateway::test {

// The HS256 secret the test upstream and the test gateways share.
inline constexpr char kTestJwtSecret[] = "gateway-tests-hs256-secret-0123456789abcdef";
inline constexpr char kTestGroup[] = "g1";

struct TokenOptions {
  std::string subject = "staff-1";
  std::string group = kTestGroup;
  std::vector<std::string> sites = {"s1"};
  std::vector<std::string> roles = {"front_desk"};
  std::string audience = "propdesk";
  std::chrono::seconds lifetime{3600};  // negative: already expired
  std::string secret = kTestJwtSecret;
};
std::string MakeToken(const TokenOptions& options = {});
common::JwtConfig TestJwtConfig();

struct SeenCall {
  std::string rpc;            // "Echo", "GetThing", …
  std::string authorization;  // the metadata as received
  std::string request_id;     // x-request-id
  std::chrono::system_clock::time_point deadline;
  std::string request_json;  // the request, proto3 JSON with proto field names
};

class TestUpstream {
 public:
  TestUpstream();  // serving on 127.0.0.1:<free port>, health SERVING
  ~TestUpstream();

  std::string address() const { return "127.0.0.1:" + std::to_string(port_); }
  int port() const { return port_; }

  // Health of the whole server ("").
  void SetServing(bool serving);

  std::vector<SeenCall> calls() const;
  int call_count() const;
  // Times Echo actually did its work for `request_id` (replays excluded).
  int effects(const std::string& request_id) const;

  // Blocks until `count` Echo calls are parked ("hold"), or `timeout`.
  bool WaitForHeld(int count, std::chrono::milliseconds timeout) const;
  // Finishes every parked call (OK, echoing "hold").
  void ReleaseHeld();

  class Impl;

 private:
  struct Services;
  std::unique_ptr<Impl> impl_;
  std::unique_ptr<Services> services_;
  std::unique_ptr<grpc::Server> server_;
  int port_ = 0;
};

}  // namespace propdesk::gateway::test
