#include "gateway/http_headers.h"

#include <algorithm>
#include <cctype>
#include <cstdint>
#include <random>

#include "common/errors.h"

namespace propdesk::gateway::http_headers {
namespace {

using common::Error;
using common::ErrorKind;

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

}  // namespace

std::optional<std::chrono::milliseconds> ParseGrpcTimeout(std::string_view value) {
  if (value.size() < 2 || value.size() > 9) return std::nullopt;
  const char unit = value.back();
  value.remove_suffix(1);
  int64_t amount = 0;
  for (char c : value) {
    if (c < '0' || c > '9') return std::nullopt;
    amount = amount * 10 + (c - '0');
  }
  using std::chrono::duration_cast;
  using std::chrono::milliseconds;
  // Below a millisecond rounds up: a positive timeout never becomes "now".
  auto ceil_ms = [](auto d) { return std::chrono::ceil<milliseconds>(d); };
  switch (unit) {
    case 'H':
      return duration_cast<milliseconds>(std::chrono::hours(amount));
    case 'M':
      return duration_cast<milliseconds>(std::chrono::minutes(amount));
    case 'S':
      return duration_cast<milliseconds>(std::chrono::seconds(amount));
    case 'm':
      return milliseconds(amount);
    case 'u':
      return ceil_ms(std::chrono::microseconds(amount));
    case 'n':
      return ceil_ms(std::chrono::nanoseconds(amount));
    default:
      return std::nullopt;
  }
}

std::string IdempotencyKey(std::string_view header) {
  std::string_view key = Trim(header);
  // The draft defines the header as an RFC 8941 sf-string ("…"); bare
  // tokens are common in practice and accepted too.
  if (key.size() >= 2 && key.front() == '"' && key.back() == '"')
    key = key.substr(1, key.size() - 2);
  const bool printable = std::all_of(key.begin(), key.end(), [](char c) {
    return c >= 0x20 && c <= 0x7E && c != '"' && c != '\\';
  });
  if (key.empty() || key.size() > 255 || !printable) {
    throw Error(ErrorKind::kInvalidArgument, "INVALID_IDEMPOTENCY_KEY",
                "Idempotency-Key must be 1-255 printable ASCII characters (a UUID is a good "
                "choice)",
                {{"field", "Idempotency-Key"}});
  }
  return std::string(key);
}

bool AcceptableRequestId(std::string_view value) {
  if (value.empty() || value.size() > 128) return false;
  return std::all_of(value.begin(), value.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.' ||
           c == ':';
  });
}

std::string NewRequestId() {
  thread_local std::mt19937_64 random{std::random_device{}()};
  static constexpr char kHex[] = "0123456789abcdef";
  std::string id(32, '0');
  uint64_t a = random();
  uint64_t b = random();
  for (int i = 0; i < 16; ++i) {
    id[i] = kHex[(a >> (i * 4)) & 0xF];
    id[16 + i] = kHex[(b >> (i * 4)) & 0xF];
  }
  return id;
}

}  // namespace propdesk::gateway::http_headers
