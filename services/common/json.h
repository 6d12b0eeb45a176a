#pragma once

// A JSON syntax check (RFC 8259) for text the platform stores as JSON, such
// as outbox payloads: one pass, no allocation, no tree. Parsing into a
// protobuf Struct only to learn that a payload is well formed cost 8 % of a
// busy tickets process (one payload per created ticket).

#include <optional>
#include <string>
#include <string_view>

namespace propdesk::common {

// Nullopt when `text` is one JSON value (with optional surrounding
// whitespace); otherwise what is wrong and where ("expected ':' at byte 7").
// Nesting deeper than 64 arrays or objects is refused.
std::optional<std::string> JsonSyntaxError(std::string_view text);

}  // namespace propdesk::common
