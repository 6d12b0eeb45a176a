#pragma once

// Values of the request headers the gateway interprets.

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

namespace propdesk::gateway::http_headers {

// grpc-timeout in gRPC's wire format (1-8 digits and a unit H|M|S|m|u|n);
// nullopt when malformed. Sub-millisecond values round up.
std::optional<std::chrono::milliseconds> ParseGrpcTimeout(std::string_view value);

// The Idempotency-Key without RFC 8941 sf-string quotes. Throws
// Error(kInvalidArgument, "INVALID_IDEMPOTENCY_KEY") for an empty, too long
// (> 255) or non-printable key.
std::string IdempotencyKey(std::string_view header);

// Whether a client's X-Request-Id is used as is: 1-128 of [A-Za-z0-9._:-]
// (anything else could forge log lines or carry personal data).
bool AcceptableRequestId(std::string_view value);

// 32 random hex digits.
std::string NewRequestId();

}  // namespace propdesk::gateway::http_headers
