#pragma once

// /openapi.json: an OpenAPI 3.0 document generated from the routes and the
// descriptors' source comments — paths and operations per google.api.http
// rule (operationId <Service>_<Method>, additional bindings _1, _2, …), path
// and query parameters and request/response schemas under their proto3
// JSON names (int64 as strings, enums as their names, well-known types as
// their JSON forms), the AIP-193 error schema as every operation's default
// response, and bearer JWT security.

#include <string>
#include <string_view>

#include "gateway/route_table.h"

namespace propdesk::gateway {

struct OpenApiInfo {
  std::string title = "propdesk API";
  std::string version;
};

std::string BuildOpenApi(const RouteTable& routes, const OpenApiInfo& info);

}  // namespace propdesk::gateway
