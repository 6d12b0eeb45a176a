#include "gateway/json_printer.h"

#include <cfloat>
#include <charconv>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <set>
#include <string_view>

#include "common/errors.h"
#include "gateway/transcoder.h"

namespace propdesk::gateway {
namespace {

namespace pb = google::protobuf;
using FD = pb::FieldDescriptor;

bool IsUnsupportedType(std::string_view name) {
  return name == "google.protobuf.Any" || name == "google.protobuf.Struct" ||
         name == "google.protobuf.Value" || name == "google.protobuf.ListValue";
}

bool Supports(const pb::Descriptor* type, std::set<const pb::Descriptor*>& seen) {
  if (!seen.insert(type).second) return true;  // recursive types: checked once
  if (IsUnsupportedType(type->full_name())) return false;
  for (int i = 0; i < type->field_count(); ++i) {
    const FD* field = type->field(i);
    if (field->enum_type() != nullptr &&
        field->enum_type()->full_name() == "google.protobuf.NullValue") {
      return false;
    }
    if (field->message_type() != nullptr && !Supports(field->message_type(), seen)) return false;
  }
  return true;
}

// As protobuf's JSON escaping: quotes, backslash, control characters, DEL,
// '<', '>' and U+2028/U+2029 escaped; bytes that are not UTF-8 dropped.
// ASCII that protobuf prints as it is.
bool IsPlain(unsigned char c) {
  return c >= 0x20 && c < 0x7f && c != '"' && c != '\\' && c != '<' && c != '>';
}

void AppendString(std::string_view text, std::string* out) {
  static constexpr char kHex[] = "0123456789abcdef";
  out->push_back('"');
  for (size_t i = 0; i < text.size();) {
    size_t plain = i;  // a run of plain characters goes in one append
    while (plain < text.size() && IsPlain(static_cast<unsigned char>(text[plain]))) ++plain;
    if (plain > i) {
      out->append(text.data() + i, plain - i);
      i = plain;
      continue;
    }
    const auto c = static_cast<unsigned char>(text[i]);
    if (c < 0x80) {
      switch (c) {
        case '"':
          out->append("\\\"");
          break;
        case '\\':
          out->append("\\\\");
          break;
        case '\b':
          out->append("\\b");
          break;
        case '\f':
          out->append("\\f");
          break;
        case '\n':
          out->append("\\n");
          break;
        case '\r':
          out->append("\\r");
          break;
        case '\t':
          out->append("\\t");
          break;
        default:
          if (c < 0x20 || c == 0x7f || c == '<' || c == '>') {
            out->append("\\u00");
            out->push_back(kHex[c >> 4]);
            out->push_back(kHex[c & 0xf]);
          } else {
            out->push_back(static_cast<char>(c));
          }
      }
      ++i;
      continue;
    }
    // A UTF-8 sequence: its length from the lead byte, then continuation bytes.
    const size_t n = c >= 0xf0 && c < 0xf5 ? 4 : c >= 0xe0 ? 3 : c >= 0xc2 ? 2 : 0;
    bool valid = n > 0 && i + n <= text.size();
    for (size_t k = 1; valid && k < n; ++k) {
      valid = (static_cast<unsigned char>(text[i + k]) & 0xc0) == 0x80;
    }
    if (!valid) {
      ++i;  // dropped, as protobuf does
      continue;
    }
    const std::string_view sequence = text.substr(i, n);
    if (sequence == "\xe2\x80\xa8" || sequence == "\xe2\x80\xa9") {
      out->append(sequence == "\xe2\x80\xa8" ? "\\u2028" : "\\u2029");
    } else {
      out->append(sequence);
    }
    i += n;
  }
  out->push_back('"');
}

// protobuf's SimpleDtoa / SimpleFtoa: the shortest of 15 (6) or 17 (9)
// significant digits that reads back the same.
std::string FormatDouble(double value) {
  char buffer[32];
  std::snprintf(buffer, sizeof(buffer), "%.*g", DBL_DIG, value);
  if (std::strtod(buffer, nullptr) != value) {
    std::snprintf(buffer, sizeof(buffer), "%.*g", DBL_DIG + 2, value);
  }
  return buffer;
}

std::string FormatFloat(float value) {
  char buffer[32];
  std::snprintf(buffer, sizeof(buffer), "%.*g", FLT_DIG, static_cast<double>(value));
  if (std::strtof(buffer, nullptr) != value) {
    std::snprintf(buffer, sizeof(buffer), "%.*g", FLT_DIG + 3, static_cast<double>(value));
  }
  return buffer;
}

void AppendFloating(double value, bool is_float, std::string* out) {
  if (std::isnan(value)) {
    out->append("\"NaN\"");
  } else if (std::isinf(value)) {
    out->append(value > 0 ? "\"Infinity\"" : "\"-Infinity\"");
  } else {
    out->append(is_float ? FormatFloat(static_cast<float>(value)) : FormatDouble(value));
  }
}

void AppendBase64(std::string_view data, std::string* out) {
  static constexpr char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  out->push_back('"');
  size_t i = 0;
  for (; i + 2 < data.size(); i += 3) {
    const uint32_t v = (static_cast<unsigned char>(data[i]) << 16) |
                       (static_cast<unsigned char>(data[i + 1]) << 8) |
                       static_cast<unsigned char>(data[i + 2]);
    for (int shift = 18; shift >= 0; shift -= 6) out->push_back(kAlphabet[(v >> shift) & 63]);
  }
  if (i < data.size()) {
    uint32_t v = static_cast<unsigned char>(data[i]) << 16;
    if (i + 1 < data.size()) v |= static_cast<unsigned char>(data[i + 1]) << 8;
    out->push_back(kAlphabet[(v >> 18) & 63]);
    out->push_back(kAlphabet[(v >> 12) & 63]);
    out->push_back(i + 1 < data.size() ? kAlphabet[(v >> 6) & 63] : '=');
    out->push_back('=');
  }
  out->push_back('"');
}

// 0, 3, 6 or 9 fractional digits, as protobuf writes them.
// `digits` decimal digits of `value`, zero-padded.
void AppendPadded(uint64_t value, int digits, std::string* out) {
  char buffer[20];
  for (int i = digits - 1; i >= 0; --i) {
    buffer[i] = static_cast<char>('0' + value % 10);
    value /= 10;
  }
  out->append(buffer, static_cast<size_t>(digits));
}

// An integer in decimal, without a temporary string.
template <class Int>
void AppendInteger(Int value, std::string* out) {
  char buffer[24];
  const auto result = std::to_chars(buffer, buffer + sizeof(buffer), value);
  out->append(buffer, static_cast<size_t>(result.ptr - buffer));
}

// 3, 6 or 9 digits, as protobuf prints them; nothing for 0.
void AppendNanos(int32_t nanos, std::string* out) {
  if (nanos == 0) return;
  out->push_back('.');
  if (nanos % 1000000 == 0) {
    AppendPadded(static_cast<uint64_t>(nanos / 1000000), 3, out);
  } else if (nanos % 1000 == 0) {
    AppendPadded(static_cast<uint64_t>(nanos / 1000), 6, out);
  } else {
    AppendPadded(static_cast<uint64_t>(nanos), 9, out);
  }
}

// RFC 3339 in UTC, as protobuf prints it; protobuf refuses a time outside
// years 1-9999 (or with nanos outside 0-999999999), and so does this.
void AppendTimestamp(int64_t seconds, int32_t nanos, std::string* out) {
  constexpr int64_t kMinSeconds = -62135596800;  // 0001-01-01T00:00:00Z
  constexpr int64_t kMaxSeconds = 253402300799;  // 9999-12-31T23:59:59Z
  if (seconds < kMinSeconds || seconds > kMaxSeconds || nanos < 0 || nanos > 999999999) {
    throw common::Internal("a google.protobuf.Timestamp is out of range: " +
                           std::to_string(seconds) + " s, " + std::to_string(nanos) + " ns");
  }
  // The date from the day count (std::chrono's civil calendar): no libc
  // time-zone lock, no strftime.
  const auto time = std::chrono::sys_seconds(std::chrono::seconds(seconds));
  const auto day = std::chrono::floor<std::chrono::days>(time);
  const std::chrono::year_month_day date(day);
  const auto second_of_day = static_cast<uint64_t>((time - day).count());
  out->push_back('"');
  AppendPadded(static_cast<uint64_t>(static_cast<int>(date.year())), 4, out);
  out->push_back('-');
  AppendPadded(static_cast<unsigned>(date.month()), 2, out);
  out->push_back('-');
  AppendPadded(static_cast<unsigned>(date.day()), 2, out);
  out->push_back('T');
  AppendPadded(second_of_day / 3600, 2, out);
  out->push_back(':');
  AppendPadded(second_of_day / 60 % 60, 2, out);
  out->push_back(':');
  AppendPadded(second_of_day % 60, 2, out);
  AppendNanos(nanos, out);
  out->append("Z\"");
}

// As protobuf prints it; protobuf refuses a duration beyond ±10,000 years
// (or nanos outside ±999999999), and so does this. Seconds and nanos of
// opposite signs break Duration's own rule and are refused too (protobuf
// refuses -1 s + 1 ns but prints 1 s - 1 ns as "1.294967295s").
void AppendDuration(int64_t seconds, int32_t nanos, std::string* out) {
  constexpr int64_t kMaxSeconds = 315576000000;
  if (seconds < -kMaxSeconds || seconds > kMaxSeconds || nanos < -999999999 || nanos > 999999999 ||
      (seconds < 0 && nanos > 0) || (seconds > 0 && nanos < 0)) {
    throw common::Internal("a google.protobuf.Duration is out of range: " +
                           std::to_string(seconds) + " s, " + std::to_string(nanos) + " ns");
  }
  out->push_back('"');
  if (seconds < 0 || nanos < 0) {
    out->push_back('-');
    seconds = -seconds;
    nanos = -nanos;
  }
  AppendInteger(seconds, out);
  AppendNanos(nanos, out);
  out->append("s\"");
}

bool IsLower(char c) { return c >= 'a' && c <= 'z'; }
bool IsUpper(char c) { return c >= 'A' && c <= 'Z'; }
char ToLower(char c) { return IsUpper(c) ? static_cast<char>(c + 32) : c; }

// One segment of a FieldMask path in JSON, by the rules protobuf's JSON
// printer applies: an underscore is dropped and raises the lowercase letter
// after it; every other letter is lowered, except, in the first word, a
// capital that follows a non-capital or precedes a lowercase letter (it
// ends the first word and stays). For snake_case: "due_time" -> "dueTime".
void AppendLowerCamel(std::string_view segment, std::string* out) {
  bool wrote = false;
  bool first_word = true;
  bool raise_next = false;
  for (size_t i = 0; i < segment.size(); ++i) {
    const char c = segment[i];
    if (c == '_') {
      raise_next = true;
      if (wrote) first_word = false;
      continue;
    }
    if (first_word) {
      const bool ends_first_word =
          wrote && IsUpper(c) &&
          (!IsUpper(segment[i - 1]) || (i + 1 < segment.size() && IsLower(segment[i + 1])));
      if (ends_first_word) first_word = false;
      out->push_back(ends_first_word ? c : ToLower(c));
    } else if (raise_next) {  // an underscore inside the first word raises after it
      raise_next = false;
      out->push_back(IsLower(c) ? static_cast<char>(c - 32) : c);
    } else {
      out->push_back(ToLower(c));
    }
    wrote = true;
  }
}

// The `index`th FieldMask path, joined as protobuf's JSON printer joins
// them: segment by segment, empty paths left out.
void AppendFieldMaskPath(std::string_view path, std::string* joined) {
  if (path.empty()) return;
  if (!joined->empty()) joined->push_back(',');
  for (size_t start = 0;;) {
    const size_t dot = path.find('.', start);
    AppendLowerCamel(path.substr(start, dot == std::string_view::npos ? dot : dot - start), joined);
    if (dot == std::string_view::npos) return;
    joined->push_back('.');
    start = dot + 1;
  }
}

// The seconds (field 1) and nanos (field 2) of a Timestamp or Duration.
std::pair<int64_t, int32_t> SecondsAndNanos(const pb::Message& m) {
  const pb::Reflection* r = m.GetReflection();
  const pb::Descriptor* d = m.GetDescriptor();
  return {r->GetInt64(m, d->field(0)), r->GetInt32(m, d->field(1))};
}

void AppendFieldMask(const pb::Message& m, std::string* out) {
  const pb::Reflection* r = m.GetReflection();
  const FD* paths = m.GetDescriptor()->FindFieldByName("paths");
  std::string joined;
  for (int i = 0; i < r->FieldSize(m, paths); ++i) {
    AppendFieldMaskPath(r->GetRepeatedString(m, paths, i), &joined);
  }
  AppendString(joined, out);
}

void AppendMessage(const pb::Message& m, std::string* out);

// One value of `field` (index -1: a singular field).
void AppendValue(const pb::Message& m, const FD* field, int index, std::string* out) {
  const pb::Reflection* r = m.GetReflection();
  const bool repeated = index >= 0;
  switch (field->cpp_type()) {
    case FD::CPPTYPE_INT32:
      AppendInteger(repeated ? r->GetRepeatedInt32(m, field, index) : r->GetInt32(m, field), out);
      break;
    case FD::CPPTYPE_UINT32:
      AppendInteger(repeated ? r->GetRepeatedUInt32(m, field, index) : r->GetUInt32(m, field), out);
      break;
    case FD::CPPTYPE_INT64:
      out->push_back('"');
      AppendInteger(repeated ? r->GetRepeatedInt64(m, field, index) : r->GetInt64(m, field), out);
      out->push_back('"');
      break;
    case FD::CPPTYPE_UINT64:
      out->push_back('"');
      AppendInteger(repeated ? r->GetRepeatedUInt64(m, field, index) : r->GetUInt64(m, field), out);
      out->push_back('"');
      break;
    case FD::CPPTYPE_DOUBLE:
      AppendFloating(repeated ? r->GetRepeatedDouble(m, field, index) : r->GetDouble(m, field),
                     false, out);
      break;
    case FD::CPPTYPE_FLOAT:
      AppendFloating(repeated ? r->GetRepeatedFloat(m, field, index) : r->GetFloat(m, field), true,
                     out);
      break;
    case FD::CPPTYPE_BOOL:
      out->append((repeated ? r->GetRepeatedBool(m, field, index) : r->GetBool(m, field))
                      ? "true"
                      : "false");
      break;
    case FD::CPPTYPE_ENUM: {
      const int number =
          repeated ? r->GetRepeatedEnumValue(m, field, index) : r->GetEnumValue(m, field);
      const pb::EnumValueDescriptor* value = field->enum_type()->FindValueByNumber(number);
      if (value != nullptr) {
        AppendString(value->name(), out);
      } else {
        AppendInteger(number, out);
      }
      break;
    }
    case FD::CPPTYPE_STRING: {
      std::string scratch;
      const std::string& text = repeated ? r->GetRepeatedStringReference(m, field, index, &scratch)
                                         : r->GetStringReference(m, field, &scratch);
      if (field->type() == FD::TYPE_BYTES) {
        AppendBase64(text, out);
      } else {
        AppendString(text, out);
      }
      break;
    }
    case FD::CPPTYPE_MESSAGE:
      AppendMessage(repeated ? r->GetRepeatedMessage(m, field, index) : r->GetMessage(m, field),
                    out);
      break;
  }
}

// A map entry's key as a JSON object key.
void AppendMapKey(const pb::Message& entry, std::string* out) {
  const FD* key = entry.GetDescriptor()->map_key();
  const pb::Reflection* r = entry.GetReflection();
  switch (key->cpp_type()) {
    case FD::CPPTYPE_STRING: {
      std::string scratch;
      AppendString(r->GetStringReference(entry, key, &scratch), out);
      return;
    }
    case FD::CPPTYPE_BOOL:
      out->append(r->GetBool(entry, key) ? "\"true\"" : "\"false\"");
      return;
    default: {
      std::string number;
      AppendValue(entry, key, -1, &number);
      if (number.front() != '"') number = '"' + number + '"';
      out->append(number);
    }
  }
}

// How a message type is written in JSON: the well-known types printed here
// have their own forms, every other one is an object. Told by the
// descriptor's well-known-type tag, not by comparing names.
enum class JsonForm { kObject, kTimestamp, kDuration, kFieldMask, kWrapper };

JsonForm FormOf(const pb::Descriptor* type) {
  const auto wkt = type->well_known_type();
  switch (wkt) {
    case pb::Descriptor::WELLKNOWNTYPE_TIMESTAMP:
      return JsonForm::kTimestamp;
    case pb::Descriptor::WELLKNOWNTYPE_DURATION:
      return JsonForm::kDuration;
    case pb::Descriptor::WELLKNOWNTYPE_FIELDMASK:
      return JsonForm::kFieldMask;
    default:
      return wkt >= pb::Descriptor::WELLKNOWNTYPE_DOUBLEVALUE &&
                     wkt <= pb::Descriptor::WELLKNOWNTYPE_BOOLVALUE
                 ? JsonForm::kWrapper
                 : JsonForm::kObject;
  }
}

void AppendMessage(const pb::Message& m, std::string* out) {
  switch (FormOf(m.GetDescriptor())) {
    case JsonForm::kTimestamp: {
      const auto [seconds, nanos] = SecondsAndNanos(m);
      return AppendTimestamp(seconds, nanos, out);
    }
    case JsonForm::kDuration: {
      const auto [seconds, nanos] = SecondsAndNanos(m);
      return AppendDuration(seconds, nanos, out);
    }
    case JsonForm::kFieldMask:
      return AppendFieldMask(m, out);
    case JsonForm::kWrapper:
      // A wrapper is its value (its default too: the wrapper itself is set).
      return AppendValue(m, m.GetDescriptor()->FindFieldByNumber(1), -1, out);
    case JsonForm::kObject:
      break;
  }
  const pb::Reflection* r = m.GetReflection();
  std::vector<const FD*> fields;
  r->ListFields(m, &fields);  // set fields, by number: as protobuf prints them
  out->push_back('{');
  bool first = true;
  for (const FD* field : fields) {
    if (!first) out->push_back(',');
    first = false;
    AppendString(field->json_name(), out);
    out->push_back(':');
    if (field->is_map()) {
      out->push_back('{');
      for (int i = 0; i < r->FieldSize(m, field); ++i) {
        const pb::Message& entry = r->GetRepeatedMessage(m, field, i);
        if (i > 0) out->push_back(',');
        AppendMapKey(entry, out);
        out->push_back(':');
        AppendValue(entry, entry.GetDescriptor()->map_value(), -1, out);
      }
      out->push_back('}');
    } else if (field->is_repeated()) {
      out->push_back('[');
      for (int i = 0; i < r->FieldSize(m, field); ++i) {
        if (i > 0) out->push_back(',');
        AppendValue(m, field, i, out);
      }
      out->push_back(']');
    } else {
      AppendValue(m, field, -1, out);
    }
  }
  out->push_back('}');
}

// ---------------------------------------------------------------- from wire
//
// The same JSON straight from the wire bytes, for messages in the canonical
// form protobuf's serializers write: fields in number order, each singular
// field once, each with its type's wire type. Anything else (and malformed
// bytes) makes the walk give up (false), and the caller parses the bytes as
// a message instead, so the output, or the error, is protobuf's either way.

// The wire types protobuf writes.
enum WireType : uint32_t { kVarint = 0, kFixed64 = 1, kLengthDelimited = 2, kFixed32 = 5 };

// One encoded value: the varint or fixed number, or the bytes.
struct WireValue {
  uint64_t number = 0;
  std::string_view bytes;
};

class WireReader {
 public:
  explicit WireReader(std::string_view wire) : at_(wire.data()), end_(wire.data() + wire.size()) {}
  bool done() const { return at_ == end_; }

  bool Varint(uint64_t* value) {
    uint64_t result = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      if (at_ == end_) return false;
      const auto byte = static_cast<uint8_t>(*at_++);
      if (shift == 63 && byte > 1) return false;  // more than 64 bits
      result |= static_cast<uint64_t>(byte & 0x7f) << shift;
      if ((byte & 0x80) == 0) {
        *value = result;
        return true;
      }
    }
    return false;
  }

  // A value of `wire_type`; false when malformed, or a wire type protobuf
  // does not write (groups).
  bool Value(uint32_t wire_type, WireValue* value) {
    switch (wire_type) {
      case kVarint:
        return Varint(&value->number);
      case kFixed64:
        return Fixed(8, &value->number);
      case kFixed32:
        return Fixed(4, &value->number);
      case kLengthDelimited: {
        uint64_t size = 0;
        if (!Varint(&size) || size > static_cast<uint64_t>(end_ - at_)) return false;
        value->bytes = std::string_view(at_, static_cast<size_t>(size));
        at_ += size;
        return true;
      }
      default:
        return false;
    }
  }

 private:
  bool Fixed(int size, uint64_t* value) {
    if (end_ - at_ < size) return false;
    uint64_t result = 0;
    for (int i = size - 1; i >= 0; --i) result = (result << 8) | static_cast<uint8_t>(at_[i]);
    at_ += size;
    *value = result;
    return true;
  }

  const char* at_;
  const char* end_;
};

uint32_t WireTypeOf(const FD* field) {
  switch (field->type()) {
    case FD::TYPE_DOUBLE:
    case FD::TYPE_FIXED64:
    case FD::TYPE_SFIXED64:
      return kFixed64;
    case FD::TYPE_FLOAT:
    case FD::TYPE_FIXED32:
    case FD::TYPE_SFIXED32:
      return kFixed32;
    case FD::TYPE_STRING:
    case FD::TYPE_BYTES:
    case FD::TYPE_MESSAGE:
    case FD::TYPE_GROUP:
      return kLengthDelimited;
    default:
      return kVarint;
  }
}

int64_t ZigZag(uint64_t n) { return static_cast<int64_t>(n >> 1) ^ -static_cast<int64_t>(n & 1); }

// A numeric or bool field's value as protobuf reads it, widened.
struct Scalar {
  int64_t i = 0;     // signed integer types, enums, bool
  uint64_t u = 0;    // unsigned integer types
  double d = 0;      // float and double
  bool zero = true;  // the proto3 default (not printed without presence)
};

Scalar ReadScalar(const FD* field, uint64_t n) {
  Scalar v;
  uint64_t bits = 0;  // the value's own bits: zero exactly at the proto3 default
  switch (field->type()) {
    case FD::TYPE_INT32:
    case FD::TYPE_SFIXED32:
    case FD::TYPE_ENUM:
      v.i = static_cast<int32_t>(n);
      break;
    case FD::TYPE_SINT32:
      v.i = static_cast<int32_t>(ZigZag(static_cast<uint32_t>(n)));
      break;
    case FD::TYPE_INT64:
    case FD::TYPE_SFIXED64:
      v.i = static_cast<int64_t>(n);
      break;
    case FD::TYPE_SINT64:
      v.i = ZigZag(n);
      break;
    case FD::TYPE_UINT32:
    case FD::TYPE_FIXED32:
      v.u = static_cast<uint32_t>(n);
      break;
    case FD::TYPE_UINT64:
    case FD::TYPE_FIXED64:
      v.u = n;
      break;
    case FD::TYPE_BOOL:
      v.i = n != 0 ? 1 : 0;
      break;
    case FD::TYPE_FLOAT: {
      const auto float_bits = static_cast<uint32_t>(n);
      float f;
      std::memcpy(&f, &float_bits, sizeof(f));
      v.d = f;
      bits = float_bits;  // -0.0 is set: protobuf decides by the bits
      break;
    }
    case FD::TYPE_DOUBLE:
      std::memcpy(&v.d, &n, sizeof(v.d));
      bits = n;
      break;
    default:
      break;
  }
  v.zero = v.i == 0 && v.u == 0 && bits == 0;
  return v;
}

void AppendScalar(const FD* field, const Scalar& v, std::string* out) {
  switch (field->cpp_type()) {
    case FD::CPPTYPE_INT32:
      AppendInteger(v.i, out);
      break;
    case FD::CPPTYPE_UINT32:
      AppendInteger(v.u, out);
      break;
    case FD::CPPTYPE_INT64:
      out->push_back('"');
      AppendInteger(v.i, out);
      out->push_back('"');
      break;
    case FD::CPPTYPE_UINT64:
      out->push_back('"');
      AppendInteger(v.u, out);
      out->push_back('"');
      break;
    case FD::CPPTYPE_DOUBLE:
    case FD::CPPTYPE_FLOAT:
      AppendFloating(v.d, field->cpp_type() == FD::CPPTYPE_FLOAT, out);
      break;
    case FD::CPPTYPE_BOOL:
      out->append(v.i != 0 ? "true" : "false");
      break;
    case FD::CPPTYPE_ENUM: {
      const pb::EnumValueDescriptor* value =
          field->enum_type()->FindValueByNumber(static_cast<int>(v.i));
      if (value != nullptr) {
        AppendString(value->name(), out);
      } else {
        AppendInteger(v.i, out);
      }
      break;
    }
    default:
      break;
  }
}

constexpr int kMaxWireDepth = 100;  // protobuf's default recursion limit
constexpr uint64_t kMaxFieldNumber = (uint64_t{1} << 29) - 1;

// The next field in `reader`, with *field null when `type` has no such
// field; false when the bytes are malformed or the number is one the parse
// refuses (0, above 2^29 - 1).
bool NextField(WireReader& reader, const pb::Descriptor* type, const FD** field,
               uint32_t* wire_type, WireValue* value) {
  uint64_t tag = 0;
  if (!reader.Varint(&tag)) return false;
  const uint64_t number = tag >> 3;
  if (number == 0 || number > kMaxFieldNumber) return false;
  *wire_type = static_cast<uint32_t>(tag & 7);
  if (!reader.Value(*wire_type, value)) return false;
  *field = type->FindFieldByNumber(static_cast<int>(number));
  return true;
}

bool AppendWireMessage(const pb::Descriptor* type, std::string_view wire, int depth,
                       std::string* out);

// One value of `field`, encoded as `value`; `skip_default`: a proto3 field
// without presence, left out at its default. Sets *printed.
bool AppendWireValue(const FD* field, const WireValue& value, bool skip_default, int depth,
                     bool* printed, std::string* out) {
  *printed = true;
  switch (field->type()) {
    case FD::TYPE_STRING:
      if (!IsValidUtf8(value.bytes)) return false;  // protobuf refuses it: so does the parse
      if (skip_default && value.bytes.empty()) return *printed = false, true;
      AppendString(value.bytes, out);
      return true;
    case FD::TYPE_BYTES:
      if (skip_default && value.bytes.empty()) return *printed = false, true;
      AppendBase64(value.bytes, out);
      return true;
    case FD::TYPE_MESSAGE:
      return AppendWireMessage(field->message_type(), value.bytes, depth + 1, out);
    default: {
      const Scalar scalar = ReadScalar(field, value.number);
      if (skip_default && scalar.zero) return *printed = false, true;
      AppendScalar(field, scalar, out);
      return true;
    }
  }
}

// Timestamp, Duration, FieldMask and the wrappers: their fields read off
// the wire, then printed as the message path prints them.
bool AppendWireWellKnown(const pb::Descriptor* type, JsonForm form, std::string_view wire,
                         std::string* out) {
  const bool seconds_and_nanos = form == JsonForm::kTimestamp || form == JsonForm::kDuration;
  const bool field_mask = form == JsonForm::kFieldMask;
  const FD* wrapped = form == JsonForm::kWrapper ? type->FindFieldByNumber(1) : nullptr;
  WireReader reader(wire);
  uint64_t numbers[2] = {0, 0};  // seconds, nanos
  WireValue wrapped_value;
  std::string joined;
  uint64_t last = 0;
  while (!reader.done()) {
    const FD* field = nullptr;
    uint32_t wire_type = 0;
    WireValue value;
    if (!NextField(reader, type, &field, &wire_type, &value)) return false;
    if (field == nullptr) return false;  // protobuf's printer reads some of these as the value
    const auto number = static_cast<uint64_t>(field->number());
    if (number < last || (number == last && !field->is_repeated())) return false;
    last = number;
    if (wire_type != WireTypeOf(field)) return false;
    if (seconds_and_nanos) {
      numbers[number - 1] = value.number;
    } else if (field_mask) {
      if (!IsValidUtf8(value.bytes)) return false;
      AppendFieldMaskPath(value.bytes, &joined);
    } else {
      wrapped_value = value;
    }
  }
  if (seconds_and_nanos) {
    const auto seconds = static_cast<int64_t>(numbers[0]);
    const auto nanos = static_cast<int32_t>(numbers[1]);
    form == JsonForm::kTimestamp ? AppendTimestamp(seconds, nanos, out)
                                 : AppendDuration(seconds, nanos, out);
    return true;
  }
  if (field_mask) {
    AppendString(joined, out);
    return true;
  }
  bool printed = false;
  return wrapped != nullptr &&
         AppendWireValue(wrapped, wrapped_value, /*skip_default=*/false, 0, &printed, out);
}

bool AppendWireMessage(const pb::Descriptor* type, std::string_view wire, int depth,
                       std::string* out) {
  if (depth > kMaxWireDepth) return false;
  if (const JsonForm form = FormOf(type); form != JsonForm::kObject) {
    return AppendWireWellKnown(type, form, wire, out);
  }
  WireReader reader(wire);
  out->push_back('{');
  bool first = true;
  const FD* current = nullptr;  // the field of the last value read
  bool array_open = false;      // current's '[' written
  uint64_t oneofs_seen = 0;     // a bit per oneof: one member each
  while (!reader.done()) {
    const FD* field = nullptr;
    uint32_t wire_type = 0;
    WireValue value;
    if (!NextField(reader, type, &field, &wire_type, &value)) return false;
    if (field == nullptr) continue;  // unknown: not printed
    const auto number = static_cast<uint64_t>(field->number());
    if (field != current) {
      if (current != nullptr && number < static_cast<uint64_t>(current->number())) return false;
      if (array_open) out->push_back(']');
      array_open = false;
      current = field;
      if (const pb::OneofDescriptor* oneof = field->real_containing_oneof()) {
        const uint64_t bit = uint64_t{1} << (oneof->index() % 64);
        if (oneof->index() >= 64 || (oneofs_seen & bit) != 0) return false;
        oneofs_seen |= bit;
      }
    } else if (!field->is_repeated()) {
      return false;  // a singular field twice: the parse decides (last wins, merge)
    }
    const bool packed =
        field->is_repeated() && field->is_packable() && wire_type == kLengthDelimited;
    if (!packed && wire_type != WireTypeOf(field)) return false;
    // Packed values follow one another in the bytes; anything else is one.
    WireReader packed_reader(value.bytes);
    while (true) {
      WireValue element = value;
      if (packed) {
        if (packed_reader.done()) break;
        if (!packed_reader.Value(WireTypeOf(field), &element)) return false;
      }
      const size_t mark = out->size();
      if (field->is_repeated()) {
        out->append(array_open ? "," : first ? "" : ",");
        if (!array_open) {
          AppendString(field->json_name(), out);
          out->append(":[");
        }
      } else {
        if (!first) out->push_back(',');
        AppendString(field->json_name(), out);
        out->push_back(':');
      }
      bool printed = false;
      const bool skip_default = !field->is_repeated() && !field->has_presence();
      if (!AppendWireValue(field, element, skip_default, depth, &printed, out)) return false;
      if (printed) {
        first = false;
        array_open = field->is_repeated();
      } else {
        out->resize(mark);
      }
      if (!packed) break;
    }
  }
  if (array_open) out->push_back(']');
  out->push_back('}');
  return true;
}

bool WireSupports(const pb::Descriptor* type, std::set<const pb::Descriptor*>& seen) {
  if (!seen.insert(type).second) return true;
  if (type->file()->syntax() != pb::FileDescriptor::SYNTAX_PROTO3) return false;
  if (FormOf(type) != JsonForm::kObject) return true;
  for (int i = 0; i < type->field_count(); ++i) {
    const FD* field = type->field(i);
    if (field->is_map()) return false;  // duplicate keys: the parse decides
    if (field->message_type() != nullptr && !WireSupports(field->message_type(), seen)) {
      return false;
    }
  }
  return true;
}

}  // namespace

bool JsonPrinterSupports(const pb::Descriptor* type) {
  std::set<const pb::Descriptor*> seen;
  return Supports(type, seen);
}

void PrintJson(const pb::Message& message, std::string* out) { AppendMessage(message, out); }

bool WireJsonPrinterSupports(const pb::Descriptor* type) {
  std::set<const pb::Descriptor*> seen;
  return JsonPrinterSupports(type) && WireSupports(type, seen);
}

bool PrintJsonFromWire(const pb::Descriptor* type, std::string_view wire, std::string* out) {
  const size_t size = out->size();
  if (AppendWireMessage(type, wire, 0, out)) return true;
  out->resize(size);
  return false;
}

}  // namespace propdesk::gateway
