#pragma once

// Reading gateway responses in tests: a value of a JSON document by its
// dotted path, and the ErrorInfo reason of an AIP-193 error body.

#include <string>

#include "support/http_client.h"

namespace propdesk::gateway::test {

// The value at a dotted path ("error.details.0.reason") of a JSON document,
// rendered as text (strings bare, numbers without a fraction when whole,
// objects and lists as JSON); "<missing …>" or "<not JSON: …>" otherwise.
std::string JsonAt(const std::string& json, const std::string& path);

// Whether two JSON documents hold the same values (object keys in any order).
bool SameJson(const std::string& a, const std::string& b);

// The ErrorInfo reason of an AIP-193 body (the first detail that has one).
std::string Reason(const ClientResponse& response);

}  // namespace propdesk::gateway::test
