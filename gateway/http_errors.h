#pragma once

// Errors as HTTP: gRPC codes map to HTTP statuses per Envoy's / Google's
// table, bodies follow AIP-193:
//   {"error":{"code":404,"status":"NOT_FOUND","message":"…",
//             "details":[{"@type":"type.googleapis.com/google.rpc.ErrorInfo",
//                         "reason":"…","domain":"…","metadata":{…}}]}}
// `code` is the HTTP status, `status` the gRPC code name.

#include <grpcpp/support/status.h>

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "common/errors.h"
#include "gateway/http_types.h"

namespace propdesk::gateway {

// ErrorInfo.domain of errors the gateway raises itself.
inline constexpr std::string_view kGatewayErrorDomain = "gateway.propdesk";

// OK 200, CANCELLED 499, UNKNOWN 500, INVALID_ARGUMENT 400,
// DEADLINE_EXCEEDED 504, NOT_FOUND 404, ALREADY_EXISTS 409,
// PERMISSION_DENIED 403, RESOURCE_EXHAUSTED 429, FAILED_PRECONDITION 400,
// ABORTED 409, OUT_OF_RANGE 400, UNIMPLEMENTED 501, INTERNAL 500,
// UNAVAILABLE 503, DATA_LOSS 500, UNAUTHENTICATED 401.
int HttpStatusFor(grpc::StatusCode code);

// Reasons that override the table (ErrorInfo.reason → HTTP status):
// REQUEST_ID_REUSED → 422 (the same Idempotency-Key with another payload,
// IETF Idempotency-Key draft).
int HttpStatusFor(grpc::StatusCode code, std::string_view reason);

std::string ErrorInfoJson(std::string_view reason, std::string_view domain,
                          const std::map<std::string, std::string>& metadata);

// The AIP-193 body; `details_json` are JSON objects (each with "@type").
std::string ErrorBody(int http_status, grpc::StatusCode code, std::string_view message,
                      const std::vector<std::string>& details_json);

// An error the gateway raises (bad request, auth, limits, no route).
// `http_status` 0 means "from the error's kind". 401s get WWW-Authenticate.
HttpResponse GatewayErrorResponse(const common::Error& error, int http_status = 0);

// A failed upstream call. Details are passed through (rendered as JSON);
// transport failures (no ErrorInfo) get a message naming the upstream
// instead of gRPC's internal text (addresses, subchannel states).
HttpResponse UpstreamErrorResponse(const grpc::Status& status, std::string_view upstream);

// RFC 6750 §3: `Bearer realm="propdesk"` when no token was sent, plus
// error="invalid_token" and a description when one was and failed.
std::string WwwAuthenticate(std::string_view description);

}  // namespace propdesk::gateway
