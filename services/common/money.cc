#include "common/money.h"

#include <limits>

#include "common/errors.h"

namespace propdesk::common {
namespace {

[[noreturn]] void ThrowOverflow(std::string_view what) {
  throw Error(
      ErrorKind::kInvalidArgument, "MONEY_OVERFLOW",
      std::string(what) + " does not fit in the supported money range (±92233720368547758.07)");
}

[[noreturn]] void ThrowInvalid(std::string_view text) {
  throw Error(ErrorKind::kInvalidArgument, "INVALID_MONEY",
              "invalid amount \"" + std::string(text) +
                  "\": expected yuan with at most two decimals, e.g. 12.34 or -0.5",
              {{"value", std::string(text)}});
}

bool IsDigit(char c) { return c >= '0' && c <= '9'; }

}  // namespace

Money Money::Parse(std::string_view yuan) {
  std::string_view rest = yuan;
  const bool negative = !rest.empty() && rest.front() == '-';
  if (negative) rest.remove_prefix(1);

  const size_t dot = rest.find('.');
  std::string_view whole = rest.substr(0, dot);
  std::string_view fraction =
      dot == std::string_view::npos ? std::string_view() : rest.substr(dot + 1);
  if (whole.empty()) ThrowInvalid(yuan);
  if (dot != std::string_view::npos && (fraction.empty() || fraction.size() > 2)) {
    ThrowInvalid(yuan);
  }
  for (char c : whole) {
    if (!IsDigit(c)) ThrowInvalid(yuan);
  }
  for (char c : fraction) {
    if (!IsDigit(c)) ThrowInvalid(yuan);
  }

  // Accumulate negatively so that the most negative amount is representable.
  int64_t fen = 0;
  auto push_digit = [&](char c) {
    if (__builtin_mul_overflow(fen, 10, &fen) || __builtin_sub_overflow(fen, c - '0', &fen)) {
      ThrowOverflow("amount \"" + std::string(yuan) + "\"");
    }
  };
  for (char c : whole) push_digit(c);
  push_digit(fraction.size() > 0 ? fraction[0] : '0');
  push_digit(fraction.size() > 1 ? fraction[1] : '0');

  if (!negative) {
    if (fen == std::numeric_limits<int64_t>::min()) {
      ThrowOverflow("amount \"" + std::string(yuan) + "\"");
    }
    fen = -fen;
  }
  return Money(fen);
}

std::string Money::ToString() const {
  // Work on the magnitude as unsigned so INT64_MIN needs no special case.
  const uint64_t magnitude =
      fen_ < 0 ? 0 - static_cast<uint64_t>(fen_) : static_cast<uint64_t>(fen_);
  const uint64_t cents = magnitude % 100;
  std::string out = fen_ < 0 ? "-" : "";
  out += std::to_string(magnitude / 100);
  out += '.';
  out += static_cast<char>('0' + cents / 10);
  out += static_cast<char>('0' + cents % 10);
  return out;
}

Money Money::operator+(Money other) const {
  int64_t sum;
  if (__builtin_add_overflow(fen_, other.fen_, &sum)) {
    ThrowOverflow(ToString() + " + " + other.ToString());
  }
  return Money(sum);
}

Money Money::operator-(Money other) const {
  int64_t difference;
  if (__builtin_sub_overflow(fen_, other.fen_, &difference)) {
    ThrowOverflow(ToString() + " - " + other.ToString());
  }
  return Money(difference);
}

Money Money::operator-() const { return Money(0) - *this; }

Money& Money::operator+=(Money other) { return *this = *this + other; }

Money& Money::operator-=(Money other) { return *this = *this - other; }

Money Money::MultiplyBy(int64_t factor) const {
  int64_t product;
  if (__builtin_mul_overflow(fen_, factor, &product)) {
    ThrowOverflow(ToString() + " × " + std::to_string(factor));
  }
  return Money(product);
}

}  // namespace propdesk::common
