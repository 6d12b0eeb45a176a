#pragma once

// HTTP/JSON ↔ protobuf for one route (google/api/http.proto semantics):
// the request message is built from the JSON body (`body: "*"` → the whole
// message, `body: "f"` → field f), then the path variables, then the query
// parameters (fields not bound by path or body; repeated fields take every
// occurrence, nested fields are dotted: `filter.titlePrefix=a`), then the
// Idempotency-Key. JSON uses the proto3 mapping: bodies in the common forms
// are read by json_parser.h, everything else by protobuf's JSON utilities,
// which also word the errors; responses are printed by json_printer.h.
// Unknown fields and unknown query parameters are rejected, naming them.

#include <google/protobuf/descriptor.h>
#include <google/protobuf/dynamic_message.h>
#include <google/protobuf/util/type_resolver.h>

#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "gateway/path_template.h"
#include "gateway/route_table.h"

namespace propdesk::gateway {

struct TranscodeLimits {
  // A larger page_size is lowered to this (AIP-158: servers may coerce).
  int max_page_size = 100;
};

struct UpstreamRequest {
  std::string binary;      // the serialized request message
  std::string site_id;     // the site it names ("" when none), for rate limits
  std::string request_id;  // its request_id, when it has one (C-8)
};

class Transcoder {
 public:
  // `pool` must outlive the transcoder.
  explicit Transcoder(const google::protobuf::DescriptorPool* pool, TranscodeLimits limits = {});
  ~Transcoder();
  Transcoder(const Transcoder&) = delete;
  Transcoder& operator=(const Transcoder&) = delete;

  // Builds the upstream request. `query` is the raw query string (after
  // '?'); `idempotency_key` is "" when the header is absent. Throws
  // Error(kInvalidArgument, reason, message, {{"field", name}}) with reason
  //   INVALID_JSON                 the body is not JSON of the right shape
  //   UNKNOWN_FIELD                the body has a field the message lacks
  //   BODY_NOT_ALLOWED             a body for a rule without one
  //   UNKNOWN_QUERY_PARAMETER      a parameter naming no field
  //   QUERY_PARAMETER_NOT_ALLOWED  a parameter for a field bound by path or body
  //   INVALID_QUERY_PARAMETER      a value that does not fit its field
  //   INVALID_PATH_PARAMETER       a path value that does not fit its field
  //   IDEMPOTENCY_KEY_NOT_SUPPORTED / IDEMPOTENCY_KEY_MISMATCH (see Apply…)
  UpstreamRequest ToUpstream(const Route& route, const std::vector<PathBinding>& bindings,
                             std::string_view query, std::string_view body,
                             std::string_view idempotency_key) const;

  // The upstream's response bytes as JSON (response_body honoured). Throws
  // Error(kInternal) when the bytes are not the route's response message.
  std::string ToJson(const Route& route, std::string_view binary) const;

  // Any message of the pool as JSON (tests, error details).
  std::string MessageToJson(const google::protobuf::Descriptor* type,
                            std::string_view binary) const;

 private:
  std::unique_ptr<google::protobuf::Message> NewMessage(
      const google::protobuf::Descriptor* type) const;
  void ParseBody(const Route& route, std::string_view body,
                 google::protobuf::Message* request) const;
  void ApplyQuery(const Route& route, std::string_view query,
                  google::protobuf::Message* request) const;
  void ApplyIdempotencyKey(const Route& route, std::string_view key,
                           google::protobuf::Message* request) const;
  void ClampPageSize(const Route& route, google::protobuf::Message* request) const;
  // Sets (appends, for a repeated field) the leaf of `path` from text.
  // Returns an empty string on success, else what is wrong with the value.
  std::string SetFromText(google::protobuf::Message* message, const FieldPath& path,
                          std::string_view text) const;
  std::string SetLeaf(google::protobuf::Message* message,
                      const google::protobuf::FieldDescriptor* field, std::string_view text) const;
  std::string SetWellKnown(google::protobuf::Message* message, std::string_view text) const;
  std::string JsonToBinary(const google::protobuf::Descriptor* type, std::string_view json,
                           std::string* binary) const;

  // Which of gateway/json_printer.h's printers handle `type` (neither:
  // protobuf prints), worked out once per type.
  struct PrinterSupport {
    bool message = false;  // PrintJson
    bool wire = false;     // PrintJsonFromWire
  };
  PrinterSupport PrinterSupports(const google::protobuf::Descriptor* type) const;

  const google::protobuf::DescriptorPool* const pool_;
  const TranscodeLimits limits_;
  std::unique_ptr<google::protobuf::util::TypeResolver> resolver_;  // thread-safe
  mutable google::protobuf::DynamicMessageFactory factory_;         // thread-safe
  mutable std::mutex printer_supports_mu_;
  mutable std::map<const google::protobuf::Descriptor*, PrinterSupport>
      printer_supports_;  // guarded by printer_supports_mu_
};

// The type URL protobuf's JSON utilities use for a message type.
std::string TypeUrl(const google::protobuf::Descriptor* type);

// Whether `text` is valid UTF-8 (proto3 strings must be).
bool IsValidUtf8(std::string_view text);

}  // namespace propdesk::gateway
