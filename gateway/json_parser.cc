#include "gateway/json_parser.h"

#include <charconv>
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "gateway/transcoder.h"

namespace propdesk::gateway {
namespace {

namespace pb = google::protobuf;
using FD = pb::FieldDescriptor;

// Deeper nesting is left to protobuf (its own limit is 100).
constexpr int kMaxDepth = 32;
// Integers a double holds exactly: protobuf refuses larger ones for a
// double field when they would lose digits, so those are left to it.
constexpr int64_t kMaxExactDouble = int64_t{1} << 53;

// Well-known types have JSON forms of their own.
bool IsWellKnown(const pb::Descriptor* type) {
  return type->file()->package() == "google.protobuf";
}

bool IsSpace(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }
bool IsDigit(char c) { return c >= '0' && c <= '9'; }

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

void AppendUtf8(uint32_t cp, std::string* out) {
  if (cp < 0x80) {
    out->push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out->push_back(static_cast<char>(0xc0 | (cp >> 6)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3f)));
  } else if (cp < 0x10000) {
    out->push_back(static_cast<char>(0xe0 | (cp >> 12)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3f)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3f)));
  } else {
    out->push_back(static_cast<char>(0xf0 | (cp >> 18)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3f)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3f)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3f)));
  }
}

// A plain JSON number token: its text, and whether it is an integer (no
// fraction, no exponent).
struct Number {
  std::string_view text;
  bool integral = false;
};

class Reader {
 public:
  explicit Reader(std::string_view json) : json_(json) {}

  bool ParseDocument(pb::Message* message) {
    if (IsWellKnown(message->GetDescriptor())) return false;
    SkipSpace();
    if (!ParseObject(message, 0)) return false;
    SkipSpace();
    return pos_ == json_.size();
  }

 private:
  void SkipSpace() {
    while (pos_ < json_.size() && IsSpace(json_[pos_])) ++pos_;
  }
  char Peek() const { return pos_ < json_.size() ? json_[pos_] : '\0'; }
  bool Consume(char c) {
    SkipSpace();
    if (Peek() != c) return false;
    ++pos_;
    return true;
  }
  bool ConsumeWord(std::string_view word) {
    if (json_.substr(pos_, word.size()) != word) return false;
    pos_ += word.size();
    return AtValueEnd();
  }
  // A value ends at whitespace, a separator or the end of the text.
  bool AtValueEnd() const {
    const char c = Peek();
    return c == '\0' || IsSpace(c) || c == ',' || c == '}' || c == ']';
  }

  // "…": the decoded text. Control characters, lone surrogates and text
  // that is not UTF-8 are refused.
  bool ReadString(std::string* out) {
    if (Peek() != '"') return false;
    ++pos_;
    out->clear();
    bool non_ascii = false;
    while (pos_ < json_.size()) {
      const char c = json_[pos_++];
      if (c == '"') return !non_ascii || IsValidUtf8(*out);
      if (static_cast<unsigned char>(c) < 0x20) return false;
      if (static_cast<unsigned char>(c) >= 0x80) non_ascii = true;
      if (c != '\\') {
        out->push_back(c);
        continue;
      }
      if (pos_ >= json_.size()) return false;
      switch (json_[pos_++]) {
        case '"':
          out->push_back('"');
          break;
        case '\\':
          out->push_back('\\');
          break;
        case '/':
          out->push_back('/');
          break;
        case 'b':
          out->push_back('\b');
          break;
        case 'f':
          out->push_back('\f');
          break;
        case 'n':
          out->push_back('\n');
          break;
        case 'r':
          out->push_back('\r');
          break;
        case 't':
          out->push_back('\t');
          break;
        case 'u':
          if (!ReadEscapedCodePoint(out)) return false;
          break;
        default:
          return false;
      }
    }
    return false;  // unterminated
  }

  // After "\u": four hex digits, or a surrogate pair "\uD8xx\uDCxx".
  bool ReadEscapedCodePoint(std::string* out) {
    uint32_t cp;
    if (!ReadHex4(&cp)) return false;
    if (cp >= 0xdc00 && cp <= 0xdfff) return false;  // a low surrogate first
    if (cp >= 0xd800 && cp <= 0xdbff) {
      uint32_t low;
      if (json_.substr(pos_, 2) != "\\u") return false;
      pos_ += 2;
      if (!ReadHex4(&low) || low < 0xdc00 || low > 0xdfff) return false;
      cp = 0x10000 + ((cp - 0xd800) << 10) + (low - 0xdc00);
    }
    AppendUtf8(cp, out);
    return true;
  }

  bool ReadHex4(uint32_t* out) {
    if (pos_ + 4 > json_.size()) return false;
    *out = 0;
    for (int i = 0; i < 4; ++i) {
      const int digit = HexValue(json_[pos_++]);
      if (digit < 0) return false;
      *out = (*out << 4) | static_cast<uint32_t>(digit);
    }
    return true;
  }

  // RFC 8259 number: -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)?
  bool ReadNumber(Number* number) {
    const size_t start = pos_;
    if (Peek() == '-') ++pos_;
    if (Peek() == '0') {
      ++pos_;
    } else if (IsDigit(Peek())) {
      while (IsDigit(Peek())) ++pos_;
    } else {
      return false;
    }
    number->integral = true;
    if (Peek() == '.') {
      ++pos_;
      if (!IsDigit(Peek())) return false;
      while (IsDigit(Peek())) ++pos_;
      number->integral = false;
    }
    if (Peek() == 'e' || Peek() == 'E') {
      ++pos_;
      if (Peek() == '+' || Peek() == '-') ++pos_;
      if (!IsDigit(Peek())) return false;
      while (IsDigit(Peek())) ++pos_;
      number->integral = false;
    }
    number->text = json_.substr(start, pos_ - start);
    return AtValueEnd();
  }

  // An integer field's value: a plain integer, bare or quoted, in range of
  // T. ("-0" is left to protobuf.)
  template <class T>
  bool ReadInteger(T* out) {
    Number number;
    std::string quoted;
    if (Peek() == '"') {
      if (!ReadString(&quoted)) return false;
      Reader inner(quoted);
      if (!inner.ReadNumber(&number) || inner.pos_ != quoted.size()) return false;
    } else if (!ReadNumber(&number)) {
      return false;
    }
    if (!number.integral || number.text == "-0") return false;
    const char* end = number.text.data() + number.text.size();
    const auto [at, ec] = std::from_chars(number.text.data(), end, *out);
    return ec == std::errc() && at == end;
  }

  // A double field's value: a number (integers only while exact).
  bool ReadDouble(double* out) {
    Number number;
    if (!ReadNumber(&number)) return false;
    const char* end = number.text.data() + number.text.size();
    if (number.integral) {
      int64_t value;
      const auto [at, ec] = std::from_chars(number.text.data(), end, value);
      if (ec != std::errc() || at != end || value > kMaxExactDouble || value < -kMaxExactDouble) {
        return false;
      }
      *out = static_cast<double>(value);
      return true;
    }
    const auto [at, ec] = std::from_chars(number.text.data(), end, *out);
    return ec == std::errc() && at == end;  // overflow and underflow: protobuf decides
  }

  bool ParseObject(pb::Message* message, int depth) {
    if (depth > kMaxDepth || !Consume('{')) return false;
    std::vector<const FD*> seen;
    if (Consume('}')) return true;
    do {
      SkipSpace();
      const FD* field = ReadKey(message->GetDescriptor());
      if (field == nullptr || !FirstOfItsKind(field, seen) || !Consume(':')) return false;
      SkipSpace();
      if (!ParseField(message, field, depth)) return false;
    } while (Consume(','));
    return Consume('}');
  }

  // A key naming a field (its JSON name first, as protobuf looks it up, then
  // its proto name). Keys with escapes are left to protobuf.
  const FD* ReadKey(const pb::Descriptor* type) {
    if (Peek() != '"') return nullptr;
    const size_t end = json_.find_first_of("\"\\", pos_ + 1);
    if (end == std::string_view::npos || json_[end] != '"') return nullptr;
    const std::string_view key = json_.substr(pos_ + 1, end - pos_ - 1);
    pos_ = end + 1;
    for (int i = 0; i < type->field_count(); ++i) {
      if (type->field(i)->json_name() == key) return type->field(i);
    }
    return type->FindFieldByName(std::string(key));
  }

  // Protobuf refuses some repeats and merges others; both are left to it.
  static bool FirstOfItsKind(const FD* field, std::vector<const FD*>& seen) {
    const pb::OneofDescriptor* oneof = field->real_containing_oneof();
    for (const FD* other : seen) {
      if (other == field || (oneof != nullptr && other->real_containing_oneof() == oneof)) {
        return false;
      }
    }
    seen.push_back(field);
    return true;
  }

  static bool Supported(const FD* field) {
    if (field->is_map() || field->type() == FD::TYPE_BYTES || field->type() == FD::TYPE_FLOAT) {
      return false;
    }
    return field->message_type() == nullptr || !IsWellKnown(field->message_type());
  }

  bool ParseField(pb::Message* message, const FD* field, int depth) {
    if (!Supported(field)) return false;
    if (!field->is_repeated()) return ParseValue(message, field, depth);
    if (!Consume('[')) return false;
    if (Consume(']')) return true;
    do {
      SkipSpace();
      if (!ParseValue(message, field, depth)) return false;
    } while (Consume(','));
    return Consume(']');
  }

  // One value of `field`: set, or added when the field is repeated.
  bool ParseValue(pb::Message* message, const FD* field, int depth) {
    const pb::Reflection* r = message->GetReflection();
    const bool add = field->is_repeated();
    switch (field->cpp_type()) {
      case FD::CPPTYPE_STRING: {
        std::string text;
        if (!ReadString(&text)) return false;
        add ? r->AddString(message, field, std::move(text))
            : r->SetString(message, field, std::move(text));
        return true;
      }
      case FD::CPPTYPE_INT32: {
        int32_t v;
        if (!ReadInteger(&v)) return false;
        add ? r->AddInt32(message, field, v) : r->SetInt32(message, field, v);
        return true;
      }
      case FD::CPPTYPE_INT64: {
        int64_t v;
        if (!ReadInteger(&v)) return false;
        add ? r->AddInt64(message, field, v) : r->SetInt64(message, field, v);
        return true;
      }
      case FD::CPPTYPE_UINT32: {
        uint32_t v;
        if (!ReadInteger(&v)) return false;
        add ? r->AddUInt32(message, field, v) : r->SetUInt32(message, field, v);
        return true;
      }
      case FD::CPPTYPE_UINT64: {
        uint64_t v;
        if (!ReadInteger(&v)) return false;
        add ? r->AddUInt64(message, field, v) : r->SetUInt64(message, field, v);
        return true;
      }
      case FD::CPPTYPE_DOUBLE: {
        double v;
        if (!ReadDouble(&v)) return false;
        add ? r->AddDouble(message, field, v) : r->SetDouble(message, field, v);
        return true;
      }
      case FD::CPPTYPE_BOOL: {
        bool v;
        if (ConsumeWord("true")) {
          v = true;
        } else if (ConsumeWord("false")) {
          v = false;
        } else {
          return false;
        }
        add ? r->AddBool(message, field, v) : r->SetBool(message, field, v);
        return true;
      }
      case FD::CPPTYPE_ENUM: {
        std::string name;
        if (!ReadString(&name)) return false;
        const pb::EnumValueDescriptor* value = field->enum_type()->FindValueByName(name);
        if (value == nullptr) return false;
        add ? r->AddEnumValue(message, field, value->number())
            : r->SetEnumValue(message, field, value->number());
        return true;
      }
      case FD::CPPTYPE_MESSAGE:
        return ParseObject(add ? r->AddMessage(message, field) : r->MutableMessage(message, field),
                           depth + 1);
      case FD::CPPTYPE_FLOAT:
        return false;
    }
    return false;
  }

  std::string_view json_;
  size_t pos_ = 0;
};

}  // namespace

bool ParseCommonJson(std::string_view json, pb::Message* message) {
  return Reader(json).ParseDocument(message);
}

}  // namespace propdesk::gateway
