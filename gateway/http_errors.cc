#include "gateway/http_errors.h"

#include <google/protobuf/util/json_util.h>
#include <google/rpc/error_details.pb.h>
#include <google/rpc/status.pb.h>

#include "gateway/json_writer.h"

namespace propdesk::gateway {
namespace {

// ErrorInfo reasons a service returns for rule C-8 (idempotency).
constexpr std::string_view kRequestIdReused = "REQUEST_ID_REUSED";

std::string CodeName(grpc::StatusCode code) { return std::string(common::GrpcCodeName(code)); }

// The details of an upstream status as JSON objects. Types this binary
// does not know are named by their @type only.
std::vector<std::string> DetailsJson(const grpc::Status& status, std::string* reason) {
  std::vector<std::string> out;
  if (status.error_details().empty()) return out;
  google::rpc::Status rpc_status;
  if (!rpc_status.ParseFromString(status.error_details())) return out;
  for (const google::protobuf::Any& any : rpc_status.details()) {
    google::rpc::ErrorInfo info;
    if (reason->empty() && any.UnpackTo(&info)) *reason = info.reason();
    std::string json;
    if (google::protobuf::util::MessageToJsonString(any, &json).ok()) {
      out.push_back(std::move(json));
    } else {
      out.push_back(JsonWriter().BeginObject().Field("@type", any.type_url()).EndObject().Take());
    }
  }
  return out;
}

}  // namespace

int HttpStatusFor(grpc::StatusCode code) {
  switch (code) {
    case grpc::StatusCode::OK:
      return 200;
    case grpc::StatusCode::CANCELLED:
      return 499;
    case grpc::StatusCode::UNKNOWN:
      return 500;
    case grpc::StatusCode::INVALID_ARGUMENT:
      return 400;
    case grpc::StatusCode::DEADLINE_EXCEEDED:
      return 504;
    case grpc::StatusCode::NOT_FOUND:
      return 404;
    case grpc::StatusCode::ALREADY_EXISTS:
      return 409;
    case grpc::StatusCode::PERMISSION_DENIED:
      return 403;
    case grpc::StatusCode::RESOURCE_EXHAUSTED:
      return 429;
    case grpc::StatusCode::FAILED_PRECONDITION:
      return 400;
    case grpc::StatusCode::ABORTED:
      return 409;
    case grpc::StatusCode::OUT_OF_RANGE:
      return 400;
    case grpc::StatusCode::UNIMPLEMENTED:
      return 501;
    case grpc::StatusCode::INTERNAL:
      return 500;
    case grpc::StatusCode::UNAVAILABLE:
      return 503;
    case grpc::StatusCode::DATA_LOSS:
      return 500;
    case grpc::StatusCode::UNAUTHENTICATED:
      return 401;
    default:
      return 500;
  }
}

int HttpStatusFor(grpc::StatusCode code, std::string_view reason) {
  if (reason == kRequestIdReused) return 422;
  return HttpStatusFor(code);
}

std::string ErrorInfoJson(std::string_view reason, std::string_view domain,
                          const std::map<std::string, std::string>& metadata) {
  JsonWriter w;
  w.BeginObject()
      .Field("@type", "type.googleapis.com/google.rpc.ErrorInfo")
      .Field("reason", reason)
      .Field("domain", domain);
  if (!metadata.empty()) {
    w.Key("metadata").BeginObject();
    for (const auto& [key, value] : metadata) w.Field(key, value);
    w.EndObject();
  }
  return w.EndObject().Take();
}

std::string ErrorBody(int http_status, grpc::StatusCode code, std::string_view message,
                      const std::vector<std::string>& details_json) {
  JsonWriter w;
  w.BeginObject().Key("error").BeginObject();
  w.Field("code", http_status).Field("status", CodeName(code)).Field("message", message);
  w.Key("details").BeginArray();
  for (const std::string& detail : details_json) w.Raw(detail);
  w.EndArray();
  return w.EndObject().EndObject().Take();
}

std::string WwwAuthenticate(std::string_view description) {
  std::string value = "Bearer realm=\"propdesk\"";
  if (description.empty()) return value;
  std::string quoted;
  for (char c : description) {
    if (c == '"' || c == '\\') continue;  // quoted-string without escapes
    quoted.push_back(c);
  }
  return value + ", error=\"invalid_token\", error_description=\"" + quoted + "\"";
}

HttpResponse GatewayErrorResponse(const common::Error& error, int http_status) {
  const grpc::StatusCode code = common::ToGrpcCode(error.kind());
  HttpResponse response;
  response.status = http_status != 0 ? http_status : HttpStatusFor(code, error.reason());
  response.body = ErrorBody(response.status, code, error.what(),
                            {ErrorInfoJson(error.reason(), kGatewayErrorDomain, error.metadata())});
  if (response.status == 401) {
    // No token at all gets the bare challenge (RFC 6750 §3.1).
    response.AddHeader("WWW-Authenticate",
                       WwwAuthenticate(error.reason() == "MISSING_TOKEN" ? "" : error.what()));
  }
  return response;
}

HttpResponse UpstreamErrorResponse(const grpc::Status& status, std::string_view upstream) {
  std::string reason;
  std::vector<std::string> details = DetailsJson(status, &reason);
  HttpResponse response;
  response.status = HttpStatusFor(status.error_code(), reason);
  std::string message = status.error_message();
  if (details.empty()) {
    // Transport-level failures carry gRPC's own text (addresses, channel
    // states): a client gets a message about the service instead.
    if (status.error_code() == grpc::StatusCode::UNAVAILABLE) {
      message = "the " + std::string(upstream) + " service is unavailable; retry later";
      reason = "UPSTREAM_UNAVAILABLE";
    } else if (status.error_code() == grpc::StatusCode::DEADLINE_EXCEEDED) {
      message = "the " + std::string(upstream) + " service did not answer in time";
      reason = "UPSTREAM_TIMEOUT";
    }
    if (!reason.empty()) {
      details.push_back(
          ErrorInfoJson(reason, kGatewayErrorDomain, {{"service", std::string(upstream)}}));
    }
  }
  response.body = ErrorBody(response.status, status.error_code(), message, details);
  if (response.status == 401) response.AddHeader("WWW-Authenticate", WwwAuthenticate(message));
  return response;
}

}  // namespace propdesk::gateway
