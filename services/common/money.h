#pragma once

// Rule C-4: money is an integer number of fen (1/100 CNY). No floating point
// anywhere money is stored, summed or compared. Money is a value type; every
// arithmetic operation is checked and throws instead of wrapping around.

#include <compare>
#include <cstdint>
#include <string>
#include <string_view>

namespace propdesk::common {

class Money {
 public:
  constexpr Money() = default;  // zero

  static constexpr Money FromFen(int64_t fen) { return Money(fen); }
  static constexpr Money Zero() { return Money(0); }

  // Parses an amount of yuan: an optional '-', at least one digit, and
  // optionally '.' followed by one or two digits ("12.34", "-0.5", "100").
  // No sign '+', spaces, thousands separators or exponents.
  // Throws Error(kInvalidArgument, "INVALID_MONEY") for anything else and
  // Error(kInvalidArgument, "MONEY_OVERFLOW") when it does not fit int64 fen.
  static Money Parse(std::string_view yuan);

  constexpr int64_t fen() const { return fen_; }

  // Yuan with exactly two decimals: "12.34", "-0.50", "0.00". Parse accepts
  // it back unchanged.
  std::string ToString() const;

  // Checked arithmetic: Error(kInvalidArgument, "MONEY_OVERFLOW") on overflow.
  Money operator+(Money other) const;
  Money operator-(Money other) const;
  Money operator-() const;
  Money& operator+=(Money other);
  Money& operator-=(Money other);
  // A quantity times a unit price (e.g. 3 × a repair item's price).
  Money MultiplyBy(int64_t factor) const;

  constexpr bool is_zero() const { return fen_ == 0; }
  constexpr bool is_negative() const { return fen_ < 0; }

  constexpr auto operator<=>(const Money&) const = default;

 private:
  constexpr explicit Money(int64_t fen) : fen_(fen) {}

  int64_t fen_ = 0;
};

}  // namespace propdesk::common
