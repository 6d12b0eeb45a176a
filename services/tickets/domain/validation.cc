#include "tickets/domain/validation.h"

#include "common/errors.h"

namespace propdesk::tickets::domain {
namespace {

bool IsAsciiSpace(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

}  // namespace

size_t CodePointCount(std::string_view text) {
  size_t count = 0;
  for (const char c : text) {
    // Count every byte that is not a UTF-8 continuation byte (10xxxxxx).
    if ((static_cast<unsigned char>(c) & 0xC0) != 0x80) ++count;
  }
  return count;
}

bool IsBlank(std::string_view text) {
  for (const char c : text) {
    if (!IsAsciiSpace(c)) return false;
  }
  return true;
}

void RequireText(std::string_view field, std::string_view value, size_t max) {
  if (IsBlank(value)) throw common::InvalidArgument(std::string(field), "is required");
  OptionalText(field, value, max);
}

void OptionalText(std::string_view field, std::string_view value, size_t max) {
  const size_t length = CodePointCount(value);
  if (length > max) {
    throw common::InvalidArgument(std::string(field), "is " + std::to_string(length) +
                                                          " characters long; at most " +
                                                          std::to_string(max) + " are allowed");
  }
}

void RequireId(std::string_view field, std::string_view value, size_t max) {
  if (value.empty()) throw common::InvalidArgument(std::string(field), "is required");
  for (const char c : value) {
    if (IsAsciiSpace(c) || static_cast<unsigned char>(c) < 0x20 || c == 0x7F) {
      throw common::InvalidArgument(std::string(field),
                                    "must not contain spaces or control characters");
    }
  }
  OptionalText(field, value, max);
}

void OptionalPhone(std::string_view field, std::string_view value) {
  if (value.empty()) return;
  int digits = 0;
  for (const char c : value) {
    if (c >= '0' && c <= '9') {
      ++digits;
    } else if (c != '+' && c != '-' && c != '(' && c != ')' && c != ' ') {
      throw common::InvalidArgument(std::string(field),
                                    "may contain only digits, spaces and + - ( )");
    }
  }
  if (digits < 5 || digits > 20) {
    throw common::InvalidArgument(std::string(field), "must have 5 to 20 digits");
  }
}

}  // namespace propdesk::tickets::domain
