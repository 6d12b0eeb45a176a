#pragma once

// Input checks shared by the tickets operations (and usable by the service
// for its own fields). Each throws Error(kInvalidArgument) naming the field,
// with a message that says what to change.

#include <cstddef>
#include <string>
#include <string_view>

namespace propdesk::tickets::domain {

// Unicode code points of UTF-8 text (protobuf has already checked it is
// valid UTF-8): "报修" is 2, not 6.
size_t CodePointCount(std::string_view text);

// Empty or only ASCII whitespace.
bool IsBlank(std::string_view text);

// 1–max code points, not blank.
void RequireText(std::string_view field, std::string_view value, size_t max);
// Empty, or at most max code points.
void OptionalText(std::string_view field, std::string_view value, size_t max);
// An identifier (staff id, department): 1–max characters, no whitespace or
// control characters.
void RequireId(std::string_view field, std::string_view value, size_t max);
// Empty, or digits with optional + - ( ) and spaces, 5–20 digits.
void OptionalPhone(std::string_view field, std::string_view value);

}  // namespace propdesk::tickets::domain
