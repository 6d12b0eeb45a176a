#include "gateway/json_printer.h"

#include <cfloat>
#include <charconv>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <set>
#include <string_view>

#include "common/errors.h"

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
void AppendTimestamp(const pb::Message& m, std::string* out) {
  constexpr int64_t kMinSeconds = -62135596800;  // 0001-01-01T00:00:00Z
  constexpr int64_t kMaxSeconds = 253402300799;  // 9999-12-31T23:59:59Z
  const pb::Reflection* r = m.GetReflection();
  const pb::Descriptor* d = m.GetDescriptor();  // seconds = 1, nanos = 2
  const int64_t seconds = r->GetInt64(m, d->field(0));
  const int32_t nanos = r->GetInt32(m, d->field(1));
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

void AppendDuration(const pb::Message& m, std::string* out) {
  const pb::Reflection* r = m.GetReflection();
  const pb::Descriptor* d = m.GetDescriptor();
  int64_t seconds = r->GetInt64(m, d->field(0));  // seconds = 1, nanos = 2
  int32_t nanos = r->GetInt32(m, d->field(1));
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

std::string LowerCamel(std::string_view path) {
  std::string out;
  bool upper = false;
  for (const char c : path) {
    if (c == '_') {
      upper = true;
    } else {
      out.push_back(upper && c >= 'a' && c <= 'z' ? static_cast<char>(c - 32) : c);
      upper = false;
    }
  }
  return out;
}

void AppendFieldMask(const pb::Message& m, std::string* out) {
  const pb::Reflection* r = m.GetReflection();
  const FD* paths = m.GetDescriptor()->FindFieldByName("paths");
  std::string joined;
  for (int i = 0; i < r->FieldSize(m, paths); ++i) {
    if (i > 0) joined.push_back(',');
    joined += LowerCamel(r->GetRepeatedString(m, paths, i));
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

void AppendMessage(const pb::Message& m, std::string* out) {
  const std::string& type = m.GetDescriptor()->full_name();
  if (type == "google.protobuf.Timestamp") return AppendTimestamp(m, out);
  if (type == "google.protobuf.Duration") return AppendDuration(m, out);
  if (type == "google.protobuf.FieldMask") return AppendFieldMask(m, out);
  if (m.GetDescriptor()->well_known_type() >= pb::Descriptor::WELLKNOWNTYPE_DOUBLEVALUE &&
      m.GetDescriptor()->well_known_type() <= pb::Descriptor::WELLKNOWNTYPE_BOOLVALUE) {
    // A wrapper is its value (its default too: the wrapper itself is set).
    const FD* value = m.GetDescriptor()->FindFieldByName("value");
    return AppendValue(m, value, -1, out);
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

}  // namespace

bool JsonPrinterSupports(const pb::Descriptor* type) {
  std::set<const pb::Descriptor*> seen;
  return Supports(type, seen);
}

void PrintJson(const pb::Message& message, std::string* out) { AppendMessage(message, out); }

}  // namespace propdesk::gateway
