#include "gateway/openapi.h"

#include <google/protobuf/descriptor.h>

#include <algorithm>
#include <deque>
#include <map>
#include <set>
#include <vector>

#include "gateway/json_writer.h"

namespace propdesk::gateway {
namespace {

namespace pb = google::protobuf;

// How deep query parameters follow nested messages (a.b.c.d).
constexpr int kMaxQueryDepth = 4;

template <class D>
std::string Comment(const D* descriptor) {
  pb::SourceLocation location;
  if (!descriptor->GetSourceLocation(&location)) return {};
  std::string text;
  std::string_view rest = location.leading_comments;
  while (!rest.empty()) {
    const size_t nl = rest.find('\n');
    std::string_view line = rest.substr(0, nl);
    rest = nl == std::string_view::npos ? std::string_view() : rest.substr(nl + 1);
    while (!line.empty() && line.front() == ' ') line.remove_prefix(1);
    while (!line.empty() && (line.back() == ' ' || line.back() == '\r')) line.remove_suffix(1);
    if (!text.empty()) text.push_back('\n');
    text += line;
  }
  while (!text.empty() && text.back() == '\n') text.pop_back();
  return text;
}

std::string FirstSentence(const std::string& text) {
  const size_t end = text.find_first_of(".\n");
  return end == std::string::npos ? text : text.substr(0, end);
}

std::string SchemaRef(const pb::Descriptor* message) {
  return "#/components/schemas/" + message->full_name();
}

bool IsWrapper(const pb::Descriptor* type) {
  const std::string& n = type->full_name();
  return n.starts_with("google.protobuf.") && n.ends_with("Value") &&
         n != "google.protobuf.Value" && type->field_count() == 1 &&
         type->field(0)->name() == "value";
}

class Builder {
 public:
  explicit Builder(const OpenApiInfo& info) : info_(info) {}

  std::string Build(const RouteTable& routes) {
    w_.BeginObject();
    w_.Field("openapi", "3.0.3");
    w_.Key("info").BeginObject().Field("title", info_.title).Field("version", info_.version);
    w_.Field("description",
             "HTTP/JSON API of propdesk, generated from the services' google.api.http rules. "
             "Every /v1 call needs `Authorization: Bearer <JWT>`; mutating calls take an "
             "`Idempotency-Key`. Errors follow AIP-193.");
    w_.EndObject();
    w_.Key("security")
        .BeginArray()
        .BeginObject()
        .Key("bearerAuth")
        .BeginArray()
        .EndArray()
        .EndObject()
        .EndArray();
    WritePaths(routes);
    WriteComponents();
    w_.EndObject();
    return w_.Take();
  }

 private:
  void WritePaths(const RouteTable& routes) {
    // Path items in route order; several methods can share one.
    std::vector<std::string> order;
    std::map<std::string, std::vector<const Route*>> by_path;
    for (const Route& route : routes.routes()) {
      const std::string path = route.path.OpenApiPath();
      if (by_path.find(path) == by_path.end()) order.push_back(path);
      by_path[path].push_back(&route);
    }
    w_.Key("paths").BeginObject();
    for (const std::string& path : order) {
      w_.Key(path).BeginObject();
      std::set<std::string> methods;
      for (const Route* route : by_path[path]) {
        std::string method = route->http_method;
        std::transform(method.begin(), method.end(), method.begin(), ::tolower);
        // OpenAPI has one operation per (path, method); "/v1/{name}" can
        // stand for two templates that differ only in the variable pattern.
        if (!methods.insert(method).second) continue;
        w_.Key(method);
        WriteOperation(*route);
      }
      w_.EndObject();
    }
    w_.EndObject();
  }

  void WriteOperation(const Route& route) {
    const pb::MethodDescriptor* method = route.method;
    const std::string comment = Comment(method);
    w_.BeginObject();
    std::string id = method->service()->name() + "_" + method->name();
    if (route.binding_index > 0) id += "_" + std::to_string(route.binding_index);
    w_.Field("operationId", id);
    w_.Key("tags").BeginArray().String(method->service()->name()).EndArray();
    if (!comment.empty()) {
      w_.Field("summary", FirstSentence(comment));
      w_.Field("description", comment);
    }
    w_.Key("parameters").BeginArray();
    WritePathParameters(route);
    if (route.body != "*") {
      WriteQueryParameters(route, method->input_type(), {}, "", 0);
    }
    WriteHeaderParameters(route);
    w_.EndArray();
    if (!route.body.empty()) {
      w_.Key("requestBody").BeginObject().Field("required", true);
      w_.Key("content").BeginObject().Key("application/json").BeginObject().Key("schema");
      if (route.body == "*") {
        Ref(method->input_type());
      } else {
        Schema(route.body_field);
      }
      w_.EndObject().EndObject().EndObject();
    }
    w_.Key("responses").BeginObject();
    w_.Key("200").BeginObject().Field("description", "OK");
    w_.Key("content").BeginObject().Key("application/json").BeginObject().Key("schema");
    Ref(route.response_body_field != nullptr ? route.response_body_field->message_type()
                                             : method->output_type());
    w_.EndObject().EndObject().EndObject();
    w_.Key("default").BeginObject().Field("description", "An error (AIP-193).");
    w_.Key("content").BeginObject().Key("application/json").BeginObject().Key("schema");
    w_.BeginObject().Field("$ref", "#/components/schemas/Error").EndObject();
    w_.EndObject().EndObject().EndObject();
    w_.EndObject();
    w_.EndObject();
  }

  void WritePathParameters(const Route& route) {
    const auto& variables = route.path.variables();
    for (size_t i = 0; i < variables.size() && i < route.variable_fields.size(); ++i) {
      const pb::FieldDescriptor* leaf = route.variable_fields[i].back();
      w_.BeginObject()
          .Field("name", variables[i].field_path)
          .Field("in", "path")
          .Field("required", true);
      std::string description = Comment(leaf);
      if (variables[i].multi_segment) {
        description += (description.empty() ? "" : " ") + std::string("Pattern: ") +
                       variables[i].pattern + ".";
      }
      if (!description.empty()) w_.Field("description", description);
      w_.Key("schema");
      ValueSchema(leaf);
      w_.EndObject();
    }
  }

  bool BoundElsewhere(const Route& route, const FieldPath& path) const {
    if (!path.empty() && path.front() == route.body_field) return true;
    for (const FieldPath& bound : route.variable_fields) {
      if (path.size() >= bound.size() && std::equal(bound.begin(), bound.end(), path.begin()))
        return true;
    }
    return false;
  }

  void WriteQueryParameters(const Route& route, const pb::Descriptor* message, FieldPath prefix,
                            const std::string& name_prefix, int depth) {
    for (int i = 0; i < message->field_count(); ++i) {
      const pb::FieldDescriptor* field = message->field(i);
      FieldPath path = prefix;
      path.push_back(field);
      if (BoundElsewhere(route, path) || field->is_map()) continue;
      const std::string name = name_prefix + field->json_name();
      const bool is_message = field->cpp_type() == pb::FieldDescriptor::CPPTYPE_MESSAGE;
      const bool leaf_message =
          is_message && (IsWrapper(field->message_type()) ||
                         field->message_type()->full_name() == "google.protobuf.Timestamp" ||
                         field->message_type()->full_name() == "google.protobuf.Duration" ||
                         field->message_type()->full_name() == "google.protobuf.FieldMask");
      if (is_message && !leaf_message) {
        if (!field->is_repeated() && depth + 1 < kMaxQueryDepth) {
          WriteQueryParameters(route, field->message_type(), path, name + ".", depth + 1);
        }
        continue;
      }
      w_.BeginObject().Field("name", name).Field("in", "query");
      const std::string description = Comment(field);
      if (!description.empty()) w_.Field("description", description);
      w_.Key("schema");
      Schema(field);
      if (field->is_repeated()) w_.Field("style", "form").Field("explode", true);
      w_.EndObject();
    }
  }

  void WriteHeaderParameters(const Route& route) {
    if (route.request_id_field != nullptr) {
      w_.BeginObject().Field("name", "Idempotency-Key").Field("in", "header");
      w_.Field("description",
               "Makes the call safe to retry (rule C-8): a repeat returns the first result, a "
               "concurrent duplicate gets 409, the same key with another payload 422. Becomes "
               "the request's requestId.");
      w_.Key("schema").BeginObject().Field("type", "string").Field("maxLength", 255).EndObject();
      w_.EndObject();
    }
    w_.BeginObject().Field("name", "X-Request-Id").Field("in", "header");
    w_.Field("description", "Correlates logs; generated when absent, always echoed.");
    w_.Key("schema").BeginObject().Field("type", "string").EndObject().EndObject();
    w_.BeginObject().Field("name", "grpc-timeout").Field("in", "header");
    w_.Field("description", "Deadline for the call in gRPC's format, e.g. 500m (ms) or 5S.");
    w_.Key("schema").BeginObject().Field("type", "string").EndObject().EndObject();
  }

  // Schema writers write the members of a schema object; the caller opens
  // and closes it (and may add a description).
  void Schema(const pb::FieldDescriptor* field, std::string_view description = {}) {
    w_.BeginObject();
    FieldSchemaMembers(field);
    const bool is_ref = field->cpp_type() == pb::FieldDescriptor::CPPTYPE_MESSAGE &&
                        !field->is_repeated() && !field->is_map() &&
                        !IsWellKnown(field->message_type());
    // OpenAPI 3.0 ignores the siblings of $ref: a message's description
    // lives on its own schema.
    if (!description.empty() && !is_ref) w_.Field("description", description);
    w_.EndObject();
  }

  void ValueSchema(const pb::FieldDescriptor* field) {
    w_.BeginObject();
    ValueSchemaMembers(field);
    w_.EndObject();
  }

  void Ref(const pb::Descriptor* message) {
    w_.BeginObject();
    RefMembers(message);
    w_.EndObject();
  }

  void RefMembers(const pb::Descriptor* message) {
    if (needed_.insert(message).second) queue_.push_back(message);
    w_.Field("$ref", SchemaRef(message));
  }

  // The schema of a field's value, repeated and map included.
  void FieldSchemaMembers(const pb::FieldDescriptor* field) {
    if (field->is_map()) {
      w_.Field("type", "object").Key("additionalProperties");
      ValueSchema(field->message_type()->map_value());
      return;
    }
    if (field->is_repeated()) {
      w_.Field("type", "array").Key("items");
      ValueSchema(field);
      return;
    }
    ValueSchemaMembers(field);
  }

  // The schema of one value of the field (ignoring repeated).
  void ValueSchemaMembers(const pb::FieldDescriptor* field) {
    using T = pb::FieldDescriptor;
    switch (field->type()) {
      case T::TYPE_INT32:
      case T::TYPE_SINT32:
      case T::TYPE_SFIXED32:
        return TypeFormat("integer", "int32");
      case T::TYPE_UINT32:
      case T::TYPE_FIXED32:
        return TypeFormat("integer", "uint32");
      case T::TYPE_INT64:
      case T::TYPE_SINT64:
      case T::TYPE_SFIXED64:
        return TypeFormat("string", "int64");  // proto3 JSON: 64-bit integers are strings
      case T::TYPE_UINT64:
      case T::TYPE_FIXED64:
        return TypeFormat("string", "uint64");
      case T::TYPE_FLOAT:
        return TypeFormat("number", "float");
      case T::TYPE_DOUBLE:
        return TypeFormat("number", "double");
      case T::TYPE_BOOL:
        return TypeFormat("boolean", "");
      case T::TYPE_STRING:
        return TypeFormat("string", "");
      case T::TYPE_BYTES:
        return TypeFormat("string", "byte");
      case T::TYPE_ENUM: {
        w_.Field("type", "string").Key("enum").BeginArray();
        const pb::EnumDescriptor* e = field->enum_type();
        for (int i = 0; i < e->value_count(); ++i) w_.String(e->value(i)->name());
        w_.EndArray();
        return;
      }
      case T::TYPE_MESSAGE:
      case T::TYPE_GROUP:
        return MessageSchemaMembers(field->message_type());
    }
  }

  static bool IsWellKnown(const pb::Descriptor* type) {
    return type->file()->name().starts_with("google/protobuf/");
  }

  void MessageSchemaMembers(const pb::Descriptor* type) {
    const std::string& name = type->full_name();
    if (name == "google.protobuf.Timestamp") return TypeFormat("string", "date-time");
    if (name == "google.protobuf.Duration") return TypeFormat("string", "duration");
    if (name == "google.protobuf.FieldMask") return TypeFormat("string", "field-mask");
    if (name == "google.protobuf.Struct") {
      w_.Field("type", "object").Field("additionalProperties", true);
      return;
    }
    if (name == "google.protobuf.Value") return;  // any JSON value
    if (name == "google.protobuf.ListValue") {
      w_.Field("type", "array").Key("items").BeginObject().EndObject();
      return;
    }
    if (name == "google.protobuf.Any") {
      w_.Field("type", "object");
      w_.Key("properties")
          .BeginObject()
          .Key("@type")
          .BeginObject()
          .Field("type", "string")
          .EndObject()
          .EndObject();
      w_.Field("additionalProperties", true);
      return;
    }
    if (name == "google.protobuf.Empty") {
      w_.Field("type", "object");
      return;
    }
    if (IsWrapper(type)) {
      // A wrapper is its bare value in JSON, or null when absent.
      ValueSchemaMembers(type->field(0));
      w_.Field("nullable", true);
      return;
    }
    RefMembers(type);
  }

  void TypeFormat(const char* type, const char* format) {
    w_.Field("type", type);
    if (format[0] != '\0') w_.Field("format", format);
  }

  void WriteComponents() {
    w_.Key("components").BeginObject();
    w_.Key("securitySchemes").BeginObject().Key("bearerAuth").BeginObject();
    w_.Field("type", "http").Field("scheme", "bearer").Field("bearerFormat", "JWT");
    w_.EndObject().EndObject();
    w_.Key("schemas").BeginObject();
    WriteErrorSchema();
    // Schemas pull in more schemas; write until none is left.
    while (!queue_.empty()) {
      const pb::Descriptor* message = queue_.front();
      queue_.pop_front();
      WriteMessageSchema(message);
    }
    w_.EndObject();
    w_.EndObject();
  }

  void WriteMessageSchema(const pb::Descriptor* message) {
    w_.Key(message->full_name()).BeginObject().Field("type", "object");
    const std::string comment = Comment(message);
    if (!comment.empty()) w_.Field("description", comment);
    w_.Key("properties").BeginObject();
    for (int i = 0; i < message->field_count(); ++i) {
      const pb::FieldDescriptor* field = message->field(i);
      w_.Key(field->json_name());
      Schema(field, Comment(field));
    }
    w_.EndObject();
    w_.EndObject();
  }

  void WriteErrorSchema() {
    w_.Key("Error").BeginObject().Field("type", "object");
    w_.Field("description", "AIP-193 error: `code` is the HTTP status, `status` the gRPC code.");
    w_.Key("required").BeginArray().String("error").EndArray();
    w_.Key("properties").BeginObject().Key("error").BeginObject().Field("type", "object");
    w_.Key("required").BeginArray().String("code").String("status").String("message").EndArray();
    w_.Key("properties").BeginObject();
    w_.Key("code").BeginObject().Field("type", "integer").Field("format", "int32").EndObject();
    w_.Key("status").BeginObject().Field("type", "string").Key("enum").BeginArray();
    for (const char* code :
         {"CANCELLED", "UNKNOWN", "INVALID_ARGUMENT", "DEADLINE_EXCEEDED", "NOT_FOUND",
          "ALREADY_EXISTS", "PERMISSION_DENIED", "RESOURCE_EXHAUSTED", "FAILED_PRECONDITION",
          "ABORTED", "OUT_OF_RANGE", "UNIMPLEMENTED", "INTERNAL", "UNAVAILABLE", "DATA_LOSS",
          "UNAUTHENTICATED"}) {
      w_.String(code);
    }
    w_.EndArray().EndObject();
    w_.Key("message").BeginObject().Field("type", "string").EndObject();
    w_.Key("details").BeginObject().Field("type", "array").Key("items").BeginObject();
    w_.Field("type", "object");
    w_.Key("properties").BeginObject();
    w_.Key("@type").BeginObject().Field("type", "string").EndObject();
    w_.Key("reason").BeginObject().Field("type", "string").EndObject();
    w_.Key("domain").BeginObject().Field("type", "string").EndObject();
    w_.Key("metadata")
        .BeginObject()
        .Field("type", "object")
        .Key("additionalProperties")
        .BeginObject()
        .Field("type", "string")
        .EndObject()
        .EndObject();
    w_.EndObject();
    w_.Field("additionalProperties", true);
    w_.EndObject().EndObject();
    w_.EndObject().EndObject().EndObject().EndObject();
  }

  const OpenApiInfo& info_;
  JsonWriter w_;
  std::set<const pb::Descriptor*> needed_;
  std::deque<const pb::Descriptor*> queue_;
};

}  // namespace

std::string BuildOpenApi(const RouteTable& routes, const OpenApiInfo& info) {
  return Builder(info).Build(routes);
}

}  // namespace propdesk::gateway
