#include "common/json.h"

#include <cstddef>

namespace propdesk::common {
namespace {

constexpr int kMaxDepth = 64;

class JsonChecker {
 public:
  explicit JsonChecker(std::string_view text) : text_(text) {}

  std::optional<std::string> Check() {
    SkipSpace();
    if (!Value(0)) return error_;
    SkipSpace();
    if (pos_ != text_.size()) {
      Fail("unexpected text after the value");
      return error_;
    }
    return std::nullopt;
  }

 private:
  bool Value(int depth) {
    if (pos_ >= text_.size()) return Fail("unexpected end, expected a value");
    switch (text_[pos_]) {
      case '{':
        return Object(depth + 1);
      case '[':
        return Array(depth + 1);
      case '"':
        return String();
      case 't':
        return Literal("true");
      case 'f':
        return Literal("false");
      case 'n':
        return Literal("null");
      default:
        return Number();
    }
  }

  bool Object(int depth) {
    if (depth > kMaxDepth) return Fail("nested deeper than 64 levels");
    ++pos_;  // {
    SkipSpace();
    if (Peek('}')) return ++pos_, true;
    for (;;) {
      SkipSpace();
      if (!Peek('"')) return Fail("expected a member name in double quotes");
      if (!String()) return false;
      SkipSpace();
      if (!Expect(':')) return false;
      SkipSpace();
      if (!Value(depth)) return false;
      SkipSpace();
      if (Peek('}')) return ++pos_, true;
      if (!Expect(',')) return false;
    }
  }

  bool Array(int depth) {
    if (depth > kMaxDepth) return Fail("nested deeper than 64 levels");
    ++pos_;  // [
    SkipSpace();
    if (Peek(']')) return ++pos_, true;
    for (;;) {
      SkipSpace();
      if (!Value(depth)) return false;
      SkipSpace();
      if (Peek(']')) return ++pos_, true;
      if (!Expect(',')) return false;
    }
  }

  bool String() {
    ++pos_;  // opening quote
    while (pos_ < text_.size()) {
      const auto c = static_cast<unsigned char>(text_[pos_]);
      if (c == '"') return ++pos_, true;
      if (c < 0x20) return Fail("control character in a string");
      if (c == '\\') {
        if (++pos_ >= text_.size()) break;
        const char e = text_[pos_];
        if (e == 'u') {
          for (int i = 1; i <= 4; ++i) {
            if (pos_ + i >= text_.size() || !IsHex(text_[pos_ + i])) {
              return Fail("bad \\u escape");
            }
          }
          pos_ += 4;
        } else if (std::string_view("\"\\/bfnrt").find(e) == std::string_view::npos) {
          return Fail("bad escape in a string");
        }
      }
      ++pos_;
    }
    return Fail("unterminated string");
  }

  bool Number() {
    const size_t start = pos_;
    if (Peek('-')) ++pos_;
    if (Peek('0')) {
      ++pos_;
    } else if (!Digits()) {
      pos_ = start;
      return Fail("expected a value");
    }
    if (Peek('.')) {
      ++pos_;
      if (!Digits()) return Fail("expected digits after '.'");
    }
    if (Peek('e') || Peek('E')) {
      ++pos_;
      if (Peek('+') || Peek('-')) ++pos_;
      if (!Digits()) return Fail("expected digits in the exponent");
    }
    return true;
  }

  bool Digits() {
    const size_t start = pos_;
    while (pos_ < text_.size() && text_[pos_] >= '0' && text_[pos_] <= '9') ++pos_;
    return pos_ > start;
  }

  bool Literal(std::string_view word) {
    if (text_.substr(pos_, word.size()) != word) return Fail("expected a value");
    pos_ += word.size();
    return true;
  }

  bool Expect(char c) {
    if (Peek(c)) return ++pos_, true;
    return Fail(std::string("expected '") + c + "'");
  }

  bool Peek(char c) const { return pos_ < text_.size() && text_[pos_] == c; }

  void SkipSpace() {
    while (pos_ < text_.size() && (text_[pos_] == ' ' || text_[pos_] == '\t' ||
                                   text_[pos_] == '\n' || text_[pos_] == '\r')) {
      ++pos_;
    }
  }

  static bool IsHex(char c) {
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
  }

  bool Fail(const std::string& what) {
    if (error_.empty()) error_ = what + " at byte " + std::to_string(pos_);
    return false;
  }

  std::string_view text_;
  size_t pos_ = 0;
  std::string error_;
};

}  // namespace

std::optional<std::string> JsonSyntaxError(std::string_view text) {
  return JsonChecker(text).Check();
}

}  // namespace propdesk::common
