#include "gateway/transcoder.h"

#include <google/protobuf/message.h>
#include <google/protobuf/struct.pb.h>
#include <google/protobuf/type.pb.h>
#include <google/protobuf/util/json_util.h>
#include <google/protobuf/util/type_resolver_util.h>

#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <limits>
#include <map>
#include <memory>
#include <shared_mutex>

#include "common/errors.h"
#include "common/log.h"
#include "gateway/json_parser.h"
#include "gateway/json_printer.h"

namespace propdesk::gateway {
namespace {

namespace pb = google::protobuf;
using common::Error;
using common::ErrorKind;

constexpr std::string_view kTypeUrlPrefix = "type.googleapis.com";

Error BadRequest(std::string reason, std::string message, std::string field = {}) {
  std::map<std::string, std::string> metadata;
  if (!field.empty()) metadata["field"] = std::move(field);
  return Error(ErrorKind::kInvalidArgument, std::move(reason), std::move(message),
               std::move(metadata));
}

bool IsBlank(std::string_view text) {
  return text.find_first_not_of(" \t\r\n") == std::string_view::npos;
}

// One "key=value" pair of a query string, decoded ('+' is a space).
bool DecodeQueryPart(std::string_view raw, std::string* out) {
  std::string plus_as_space(raw);
  for (char& c : plus_as_space) {
    if (c == '+') c = ' ';
  }
  return PercentDecode(plus_as_space, out);
}

template <class T>
bool ParseInteger(std::string_view text, T* out) {
  if (text.empty()) return false;
  if (text.front() == '+') text.remove_prefix(1);
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), *out);
  return ec == std::errc() && end == text.data() + text.size();
}

bool ParseDouble(std::string_view text, double* out) {
  if (text == "NaN") {
    *out = std::numeric_limits<double>::quiet_NaN();
    return true;
  }
  if (text == "Infinity" || text == "-Infinity") {
    *out = text.front() == '-' ? -std::numeric_limits<double>::infinity()
                               : std::numeric_limits<double>::infinity();
    return true;
  }
  const std::string copy(text);
  if (copy.empty() || std::isspace(static_cast<unsigned char>(copy.front()))) return false;
  char* end = nullptr;
  errno = 0;
  *out = std::strtod(copy.c_str(), &end);
  return end == copy.c_str() + copy.size() && errno == 0 && std::isfinite(*out);
}

int Base64Value(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '+' || c == '-') return 62;
  if (c == '/' || c == '_') return 63;
  return -1;
}

// Standard or URL-safe base64, padding optional (the proto3 JSON mapping
// accepts both alphabets for bytes).
bool DecodeBase64(std::string_view text, std::string* out) {
  while (!text.empty() && text.back() == '=') text.remove_suffix(1);
  if (text.size() % 4 == 1) return false;
  out->clear();
  uint32_t acc = 0;
  int bits = 0;
  for (char c : text) {
    const int v = Base64Value(c);
    if (v < 0) return false;
    acc = (acc << 6) | static_cast<uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out->push_back(static_cast<char>((acc >> bits) & 0xFF));
    }
  }
  return true;
}

bool IsWrapper(const pb::Descriptor* type) {
  const std::string& name = type->full_name();
  return name == "google.protobuf.DoubleValue" || name == "google.protobuf.FloatValue" ||
         name == "google.protobuf.Int64Value" || name == "google.protobuf.UInt64Value" ||
         name == "google.protobuf.Int32Value" || name == "google.protobuf.UInt32Value" ||
         name == "google.protobuf.BoolValue" || name == "google.protobuf.StringValue" ||
         name == "google.protobuf.BytesValue";
}

// Well-known types whose JSON form is a string.
bool IsStringLikeWellKnown(const pb::Descriptor* type) {
  const std::string& name = type->full_name();
  return name == "google.protobuf.Timestamp" || name == "google.protobuf.Duration" ||
         name == "google.protobuf.FieldMask";
}

// protobuf 3.21 reports an unknown JSON field as "<name>: Cannot find
// field." at the top level and "(<path>) <name>: Cannot find field." below
// it, the path in proto names with indices ("message_type[0].options").
// Returns the field as the client wrote it, in JSON names
// ("messageType[0].options.nick"); "" when the message is another error.
std::string UnknownFieldPath(const std::string& message, const pb::Descriptor* type) {
  const std::string marker = ": Cannot find field.";
  const size_t at = message.find(marker);
  if (at == std::string::npos || at == 0) return {};
  std::string_view head(message.data(), at);
  std::string path;
  if (head.front() == '(') {
    const size_t close = head.find(") ");
    if (close == std::string_view::npos) return {};
    std::string_view location = head.substr(1, close - 1);
    head.remove_prefix(close + 2);
    const pb::Descriptor* current = type;
    while (!location.empty()) {
      const size_t dot = location.find('.');
      const std::string_view segment = location.substr(0, dot);
      location = dot == std::string_view::npos ? std::string_view() : location.substr(dot + 1);
      const std::string_view name = segment.substr(0, segment.find('['));
      const pb::FieldDescriptor* field =
          current != nullptr ? current->FindFieldByName(std::string(name)) : nullptr;
      path += field != nullptr ? field->json_name() : std::string(name);
      path += segment.substr(name.size());  // the index, if any
      path += '.';
      current = field != nullptr ? field->message_type() : nullptr;
    }
  }
  path += head;
  return path;
}

// protobuf's resolver for a DescriptorPool converts the descriptors of a
// type into a google.protobuf.Type on every lookup, and the JSON utilities
// look up every message type of a request or response on every call. The
// pool never changes, so each conversion is kept.
class CachingTypeResolver : public pb::util::TypeResolver {
 public:
  explicit CachingTypeResolver(std::unique_ptr<pb::util::TypeResolver> inner)
      : inner_(std::move(inner)) {}

  pb::util::Status ResolveMessageType(const std::string& type_url, pb::Type* type) override {
    return Resolve(types_, type_url, type, [this](const std::string& url, pb::Type* out) {
      return inner_->ResolveMessageType(url, out);
    });
  }
  pb::util::Status ResolveEnumType(const std::string& type_url, pb::Enum* enum_type) override {
    return Resolve(enums_, type_url, enum_type, [this](const std::string& url, pb::Enum* out) {
      return inner_->ResolveEnumType(url, out);
    });
  }

 private:
  template <class T, class Lookup>
  pb::util::Status Resolve(std::map<std::string, T, std::less<>>& cache, const std::string& url,
                           T* out, const Lookup& lookup) {
    {
      std::shared_lock lock(mu_);
      if (auto it = cache.find(url); it != cache.end()) {
        *out = it->second;
        return pb::util::Status();
      }
    }
    T resolved;
    pb::util::Status status = lookup(url, &resolved);
    if (!status.ok()) return status;  // unknown types are not remembered
    *out = resolved;
    std::unique_lock lock(mu_);
    cache.emplace(url, std::move(resolved));
    return status;
  }

  const std::unique_ptr<pb::util::TypeResolver> inner_;
  std::shared_mutex mu_;
  std::map<std::string, pb::Type, std::less<>> types_;  // guarded by mu_
  std::map<std::string, pb::Enum, std::less<>> enums_;  // guarded by mu_
};

}  // namespace

std::string TypeUrl(const pb::Descriptor* type) {
  return std::string(kTypeUrlPrefix) + "/" + type->full_name();
}

bool IsValidUtf8(std::string_view text) {
  size_t i = 0;
  while (i < text.size()) {
    const auto c = static_cast<unsigned char>(text[i]);
    int extra = 0;
    uint32_t cp = 0;
    if (c < 0x80) {
      ++i;
      continue;
    } else if ((c & 0xE0) == 0xC0) {
      extra = 1;
      cp = c & 0x1F;
    } else if ((c & 0xF0) == 0xE0) {
      extra = 2;
      cp = c & 0x0F;
    } else if ((c & 0xF8) == 0xF0) {
      extra = 3;
      cp = c & 0x07;
    } else {
      return false;
    }
    if (i + extra >= text.size()) return false;
    for (int k = 1; k <= extra; ++k) {
      const auto cc = static_cast<unsigned char>(text[i + k]);
      if ((cc & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (cc & 0x3F);
    }
    // Overlong forms, surrogates and values past U+10FFFF are invalid.
    static constexpr uint32_t kMin[] = {0, 0x80, 0x800, 0x10000};
    if (cp < kMin[extra] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return false;
    i += extra + 1;
  }
  return true;
}

Transcoder::Transcoder(const pb::DescriptorPool* pool, TranscodeLimits limits)
    : pool_(pool),
      limits_(limits),
      resolver_(std::make_unique<CachingTypeResolver>(std::unique_ptr<pb::util::TypeResolver>(
          pb::util::NewTypeResolverForDescriptorPool(std::string(kTypeUrlPrefix), pool)))) {}

Transcoder::~Transcoder() = default;

std::unique_ptr<pb::Message> Transcoder::NewMessage(const pb::Descriptor* type) const {
  return std::unique_ptr<pb::Message>(factory_.GetPrototype(type)->New());
}

std::string Transcoder::JsonToBinary(const pb::Descriptor* type, std::string_view json,
                                     std::string* binary) const {
  pb::util::JsonParseOptions options;
  options.ignore_unknown_fields = false;
  const auto status = pb::util::JsonToBinaryString(resolver_.get(), TypeUrl(type),
                                                   std::string(json), binary, options);
  if (status.ok()) return {};
  return std::string(status.message());
}

UpstreamRequest Transcoder::ToUpstream(const Route& route, const std::vector<PathBinding>& bindings,
                                       std::string_view query, std::string_view body,
                                       std::string_view idempotency_key) const {
  std::unique_ptr<pb::Message> request = NewMessage(route.method->input_type());
  ParseBody(route, body, request.get());
  // Path variables last among the sources of a field: the path is what the
  // caller addressed (and what its token was checked against upstream).
  for (size_t i = 0; i < bindings.size() && i < route.variable_fields.size(); ++i) {
    const std::string problem =
        SetFromText(request.get(), route.variable_fields[i], bindings[i].value);
    if (!problem.empty()) {
      throw BadRequest("INVALID_PATH_PARAMETER",
                       "path parameter " + bindings[i].field_path + ": " + problem,
                       bindings[i].field_path);
    }
  }
  ApplyQuery(route, query, request.get());
  ApplyIdempotencyKey(route, idempotency_key, request.get());
  ClampPageSize(route, request.get());

  UpstreamRequest out;
  const pb::Reflection* reflection = request->GetReflection();
  if (route.site_id_field != nullptr) {
    out.site_id = reflection->GetString(*request, route.site_id_field);
  } else {
    for (const PathBinding& binding : bindings) {
      const std::string_view path = binding.field_path;
      if (path == "site_id" || path.ends_with(".site_id")) out.site_id = binding.value;
    }
  }
  if (route.request_id_field != nullptr) {
    out.request_id = reflection->GetString(*request, route.request_id_field);
  }
  // Partial: proto3 has no required fields, and Debian's libprotobuf checks
  // IsInitialized (a walk over every field by reflection) in SerializeToString.
  request->SerializePartialToString(&out.binary);
  return out;
}

void Transcoder::ParseBody(const Route& route, std::string_view body, pb::Message* request) const {
  if (IsBlank(body)) return;
  if (route.body.empty()) {
    throw BadRequest("BODY_NOT_ALLOWED",
                     route.label + " takes no request body; send its fields as query parameters");
  }
  // The JSON is parsed as the message it fills: the request (body "*"), the
  // body field's message, or — for a scalar or repeated body field — a
  // request holding only that field ({"<field>": <body>}, after checking the
  // body is one JSON value, so it cannot smuggle in other fields).
  const pb::FieldDescriptor* field = route.body_field;
  const bool into_field_message = field != nullptr && !field->is_repeated() &&
                                  field->cpp_type() == pb::FieldDescriptor::CPPTYPE_MESSAGE;
  const pb::Descriptor* type = route.method->input_type();
  if (field == nullptr || into_field_message) {
    // The common forms in one pass (gateway/json_parser.h); protobuf
    // decides everything else, errors included.
    pb::Message* target = field == nullptr
                              ? request
                              : request->GetReflection()->MutableMessage(request, field, &factory_);
    if (ParseCommonJson(body, target)) return;
    target->Clear();
  }
  std::string json;
  if (field == nullptr) {
    json = std::string(body);
  } else if (into_field_message) {
    type = field->message_type();
    json = std::string(body);
  } else {
    pb::Value value;
    if (!pb::util::JsonStringToMessage(std::string(body), &value).ok()) {
      throw BadRequest("INVALID_JSON", "the request body is not one JSON value");
    }
    json = "{\"" + field->json_name() + "\":" + std::string(body) + "}";
  }
  std::string binary;
  const std::string problem = JsonToBinary(type, json, &binary);
  if (!problem.empty()) {
    std::string unknown = UnknownFieldPath(problem, type);
    if (field != nullptr && unknown.starts_with(field->json_name() + ".")) {
      unknown = unknown.substr(field->json_name().size() + 1);
    }
    const std::string what = field != nullptr ? field->json_name() : type->name();
    if (!unknown.empty()) {
      throw BadRequest("UNKNOWN_FIELD",
                       "the request body has an unknown field \"" + unknown +
                           "\"; see /openapi.json for the fields of " + what,
                       unknown);
    }
    throw BadRequest("INVALID_JSON", "the request body is not a valid " + what + ": " + problem);
  }
  if (into_field_message) {
    pb::Message* target = request->GetReflection()->MutableMessage(request, field, &factory_);
    if (!target->ParseFromString(binary)) {
      throw BadRequest("INVALID_JSON", "the request body could not be converted");
    }
    return;
  }
  if (!request->ParseFromString(binary)) {
    throw BadRequest("INVALID_JSON", "the request body could not be converted");
  }
}

void Transcoder::ApplyQuery(const Route& route, std::string_view query,
                            pb::Message* request) const {
  while (!query.empty()) {
    const size_t amp = query.find('&');
    const std::string_view pair = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
    if (pair.empty()) continue;
    const size_t eq = pair.find('=');
    std::string key;
    std::string value;
    if (!DecodeQueryPart(pair.substr(0, eq), &key) ||
        (eq != std::string_view::npos && !DecodeQueryPart(pair.substr(eq + 1), &value))) {
      throw BadRequest("INVALID_QUERY_PARAMETER",
                       "query parameter \"" + std::string(pair) + "\" has a bad percent-escape");
    }
    if (route.body == "*") {
      throw BadRequest("QUERY_PARAMETER_NOT_ALLOWED",
                       "query parameter \"" + key + "\": " + route.label +
                           " takes every field from the JSON body",
                       key);
    }
    const FieldPath path = ResolveFieldPath(request->GetDescriptor(), key, /*json_names=*/true);
    if (path.empty()) {
      throw BadRequest("UNKNOWN_QUERY_PARAMETER",
                       "unknown query parameter \"" + key +
                           "\": " + request->GetDescriptor()->full_name() + " has no such field",
                       key);
    }
    if (path.front() == route.body_field) {
      throw BadRequest("QUERY_PARAMETER_NOT_ALLOWED",
                       "query parameter \"" + key + "\" is part of the request body", key);
    }
    for (const FieldPath& bound : route.variable_fields) {
      if (path.size() >= bound.size() && std::equal(bound.begin(), bound.end(), path.begin())) {
        throw BadRequest("QUERY_PARAMETER_NOT_ALLOWED",
                         "query parameter \"" + key + "\" is already given by the path", key);
      }
    }
    const std::string problem = SetFromText(request, path, value);
    if (!problem.empty()) {
      throw BadRequest("INVALID_QUERY_PARAMETER", "query parameter \"" + key + "\": " + problem,
                       key);
    }
  }
}

void Transcoder::ApplyIdempotencyKey(const Route& route, std::string_view key,
                                     pb::Message* request) const {
  if (key.empty()) return;
  if (route.request_id_field == nullptr) {
    throw BadRequest("IDEMPOTENCY_KEY_NOT_SUPPORTED",
                     route.label +
                         " does not take an Idempotency-Key (its request has no "
                         "request_id); send it without the header",
                     "Idempotency-Key");
  }
  const pb::Reflection* reflection = request->GetReflection();
  const std::string in_body = reflection->GetString(*request, route.request_id_field);
  if (!in_body.empty() && in_body != key) {
    throw BadRequest("IDEMPOTENCY_KEY_MISMATCH",
                     "the Idempotency-Key header and the requestId of the body differ; send one "
                     "of them, or the same value in both",
                     "Idempotency-Key");
  }
  reflection->SetString(request, route.request_id_field, std::string(key));
}

void Transcoder::ClampPageSize(const Route& route, pb::Message* request) const {
  if (route.page_size_field == nullptr || limits_.max_page_size <= 0) return;
  const pb::Reflection* reflection = request->GetReflection();
  if (reflection->GetInt32(*request, route.page_size_field) > limits_.max_page_size) {
    reflection->SetInt32(request, route.page_size_field, limits_.max_page_size);
  }
}

std::string Transcoder::SetFromText(pb::Message* message, const FieldPath& path,
                                    std::string_view text) const {
  for (size_t i = 0; i + 1 < path.size(); ++i) {
    message = message->GetReflection()->MutableMessage(message, path[i], &factory_);
  }
  return SetLeaf(message, path.back(), text);
}

std::string Transcoder::SetLeaf(pb::Message* message, const pb::FieldDescriptor* field,
                                std::string_view text) const {
  const pb::Reflection* r = message->GetReflection();
  const bool repeated = field->is_repeated();
  if (field->is_map()) return "map fields cannot be set from a URL";
  switch (field->cpp_type()) {
    case pb::FieldDescriptor::CPPTYPE_STRING: {
      std::string value(text);
      if (field->type() == pb::FieldDescriptor::TYPE_BYTES) {
        if (!DecodeBase64(text, &value)) return "\"" + std::string(text) + "\" is not base64";
      } else if (!IsValidUtf8(value)) {
        return "not valid UTF-8";
      }
      repeated ? r->AddString(message, field, std::move(value))
               : r->SetString(message, field, std::move(value));
      return {};
    }
    case pb::FieldDescriptor::CPPTYPE_INT32: {
      int32_t v;
      if (!ParseInteger(text, &v)) return "\"" + std::string(text) + "\" is not a 32-bit integer";
      repeated ? r->AddInt32(message, field, v) : r->SetInt32(message, field, v);
      return {};
    }
    case pb::FieldDescriptor::CPPTYPE_INT64: {
      int64_t v;
      if (!ParseInteger(text, &v)) return "\"" + std::string(text) + "\" is not a 64-bit integer";
      repeated ? r->AddInt64(message, field, v) : r->SetInt64(message, field, v);
      return {};
    }
    case pb::FieldDescriptor::CPPTYPE_UINT32: {
      uint32_t v;
      if (!ParseInteger(text, &v))
        return "\"" + std::string(text) + "\" is not an unsigned 32-bit integer";
      repeated ? r->AddUInt32(message, field, v) : r->SetUInt32(message, field, v);
      return {};
    }
    case pb::FieldDescriptor::CPPTYPE_UINT64: {
      uint64_t v;
      if (!ParseInteger(text, &v))
        return "\"" + std::string(text) + "\" is not an unsigned 64-bit integer";
      repeated ? r->AddUInt64(message, field, v) : r->SetUInt64(message, field, v);
      return {};
    }
    case pb::FieldDescriptor::CPPTYPE_DOUBLE:
    case pb::FieldDescriptor::CPPTYPE_FLOAT: {
      double v;
      if (!ParseDouble(text, &v)) return "\"" + std::string(text) + "\" is not a number";
      if (field->cpp_type() == pb::FieldDescriptor::CPPTYPE_FLOAT) {
        const auto f = static_cast<float>(v);
        repeated ? r->AddFloat(message, field, f) : r->SetFloat(message, field, f);
      } else {
        repeated ? r->AddDouble(message, field, v) : r->SetDouble(message, field, v);
      }
      return {};
    }
    case pb::FieldDescriptor::CPPTYPE_BOOL: {
      bool v;
      if (text == "true" || text == "1") {
        v = true;
      } else if (text == "false" || text == "0") {
        v = false;
      } else {
        return "\"" + std::string(text) + "\" is not true or false";
      }
      repeated ? r->AddBool(message, field, v) : r->SetBool(message, field, v);
      return {};
    }
    case pb::FieldDescriptor::CPPTYPE_ENUM: {
      const pb::EnumDescriptor* type = field->enum_type();
      const pb::EnumValueDescriptor* value = type->FindValueByName(std::string(text));
      int number = 0;
      if (value == nullptr && ParseInteger(text, &number)) value = type->FindValueByNumber(number);
      if (value == nullptr) {
        std::string names;
        for (int i = 0; i < type->value_count(); ++i) {
          names += (i == 0 ? "" : ", ") + type->value(i)->name();
        }
        return "\"" + std::string(text) + "\" is not one of " + names;
      }
      repeated ? r->AddEnum(message, field, value) : r->SetEnum(message, field, value);
      return {};
    }
    case pb::FieldDescriptor::CPPTYPE_MESSAGE: {
      const pb::Descriptor* type = field->message_type();
      if (!IsWrapper(type) && !IsStringLikeWellKnown(type)) {
        return "names a message; set its fields instead (" + field->json_name() + ".<field>)";
      }
      pb::Message* child = repeated ? r->AddMessage(message, field, &factory_)
                                    : r->MutableMessage(message, field, &factory_);
      if (IsWrapper(type)) return SetLeaf(child, type->FindFieldByName("value"), text);
      return SetWellKnown(child, text);
    }
  }
  return "unsupported field type";
}

std::string Transcoder::SetWellKnown(pb::Message* message, std::string_view text) const {
  std::string json;
  common::AppendJsonString(json, text);
  std::string binary;
  const std::string problem = JsonToBinary(message->GetDescriptor(), json, &binary);
  if (!problem.empty()) {
    return "\"" + std::string(text) + "\" is not a valid " + message->GetDescriptor()->name();
  }
  message->ParseFromString(binary);
  return {};
}

std::string Transcoder::ToJson(const Route& route, std::string_view binary) const {
  const pb::Descriptor* type = route.method->output_type();
  const PrinterSupport support = PrinterSupports(type);
  if (support.wire && route.response_body_field == nullptr) {
    // The common case: canonical bytes, printed without building a message.
    std::string json;
    if (PrintJsonFromWire(type, binary, &json)) return json;
  }
  // Parsing first catches bytes that are not the response message (the JSON
  // conversion alone would turn a truncated message into a partial object).
  std::unique_ptr<pb::Message> response = NewMessage(type);
  if (!response->ParseFromArray(binary.data(), static_cast<int>(binary.size()))) {
    throw common::Internal("the upstream's " + type->full_name() + " does not parse");
  }
  const pb::Message* part = response.get();
  if (route.response_body_field != nullptr) {
    part = &response->GetReflection()->GetMessage(*response, route.response_body_field, &factory_);
  }
  if (PrinterSupports(part->GetDescriptor()).message) {
    std::string json;
    PrintJson(*part, &json);
    return json;
  }
  return MessageToJson(part->GetDescriptor(),
                       part == response.get() ? binary : part->SerializeAsString());
}

Transcoder::PrinterSupport Transcoder::PrinterSupports(const pb::Descriptor* type) const {
  std::lock_guard<std::mutex> lock(printer_supports_mu_);
  auto [it, added] = printer_supports_.try_emplace(type);
  if (added) it->second = {JsonPrinterSupports(type), WireJsonPrinterSupports(type)};
  return it->second;
}

std::string Transcoder::MessageToJson(const pb::Descriptor* type, std::string_view binary) const {
  pb::util::JsonPrintOptions options;
  options.preserve_proto_field_names = false;
  std::string json;
  const auto status = pb::util::BinaryToJsonString(resolver_.get(), TypeUrl(type),
                                                   std::string(binary), &json, options);
  if (!status.ok()) {
    throw common::Internal("cannot convert the upstream's " + type->full_name() +
                           " to JSON: " + std::string(status.message()));
  }
  return json;
}

}  // namespace propdesk::gateway
