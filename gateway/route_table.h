#pragma once

// The gateway's routes, built at start-up from the google.api.http rules of
// every service in the descriptor sets (one route per rule and per
// additional binding). Adding a service or an RPC needs no gateway code.
// Anything the gateway could not serve unambiguously — a bad template, a
// variable or body naming no field, two rules matching the same request, a
// streaming RPC — stops the start-up with a message naming the RPC.

#include <google/protobuf/descriptor.h>

#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "gateway/path_template.h"

namespace propdesk::gateway {

using FieldPath = std::vector<const google::protobuf::FieldDescriptor*>;

struct Route {
  std::string http_method;  // "GET", "POST", …, or a custom rule's kind
  PathTemplate path;
  const google::protobuf::MethodDescriptor* method = nullptr;
  std::string body;  // "", "*" or a top-level field name
  const google::protobuf::FieldDescriptor* body_field = nullptr;           // body names a field
  const google::protobuf::FieldDescriptor* response_body_field = nullptr;  // response_body set
  std::string upstream;   // the upstream serving method->service()
  std::string grpc_path;  // "/propdesk.tickets.v1.TicketService/GetTicket"
  std::string label;      // "GET /v1/sites/{site_id}/tickets/{ticket_id}" (metrics, logs)
  int binding_index = 0;  // 0: the rule itself; 1…: its additional_bindings in order
  std::vector<FieldPath> variable_fields;  // one per path variable, in template order
  // Fields the gateway treats specially, when the request has them:
  const google::protobuf::FieldDescriptor* request_id_field = nullptr;  // Idempotency-Key (C-8)
  const google::protobuf::FieldDescriptor* site_id_field = nullptr;     // rate limit per site (C-1)
  const google::protobuf::FieldDescriptor* page_size_field = nullptr;   // page size limit
};

// Resolves "a.b.c" against `message`, segment by segment, by proto field
// name or (with `json_names`) JSON name. Empty when some segment names no
// field, or a segment before the last is not a singular message field.
FieldPath ResolveFieldPath(const google::protobuf::Descriptor* message, std::string_view path,
                           bool json_names);

// "a.b.c" by proto names.
std::string FieldPathName(const FieldPath& path);

class RouteTable {
 public:
  // The upstream name for a service, or "" when none is configured.
  using UpstreamFor = std::function<std::string(const google::protobuf::ServiceDescriptor&)>;

  // Throws Error(kInvalidArgument, "BAD_ROUTES") listing every problem.
  // Services without any google.api.http rule are skipped; a service with
  // rules but no upstream is a problem.
  static RouteTable Build(const std::vector<const google::protobuf::ServiceDescriptor*>& services,
                          const UpstreamFor& upstream_for);

  struct Match {
    const Route* route = nullptr;  // null: no route for this method and path
    std::vector<PathBinding> bindings;
    // When route is null but the path matches routes of other methods
    // (→ 405 with Allow), their methods.
    std::vector<std::string> allowed_methods;
  };
  // `path` without the query string, still percent-encoded.
  Match Find(std::string_view http_method, std::string_view path) const;

  const std::vector<Route>& routes() const { return routes_; }

 private:
  bool MatchRoute(const Route& route, std::vector<std::string_view> segments,
                  std::vector<PathBinding>* bindings) const;

  std::vector<Route> routes_;
};

}  // namespace propdesk::gateway
