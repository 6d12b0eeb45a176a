#include "common/errors.h"

#include <cppconn/exception.h>

#include <iterator>
#include <mutex>
#include <utility>

#include "common/log.h"
#include "google/rpc/error_details.pb.h"
#include "google/rpc/status.pb.h"

namespace propdesk::common {
namespace {

std::mutex& DomainMutex() {
  static std::mutex mu;
  return mu;
}

std::string& DomainSlot() {  // guarded by DomainMutex() for writes
  static std::string domain = "propdesk";
  return domain;
}

// MySQL / MariaDB error codes that mean "the database is not there right
// now" rather than "the statement is wrong": the client may retry.
bool IsUnavailableSqlCode(int code) {
  switch (code) {
    case 2002:  // CR_CONNECTION_ERROR: cannot connect through the socket
    case 2003:  // CR_CONN_HOST_ERROR: cannot connect to the host
    case 2006:  // CR_SERVER_GONE_ERROR
    case 2013:  // CR_SERVER_LOST during a query
    case 1969:  // ER_STATEMENT_TIMEOUT: max_statement_time exceeded
      return true;
    default:
      return false;
  }
}

grpc::Status MakeStatus(grpc::StatusCode code, const std::string& message,
                        const std::string& reason,
                        const std::map<std::string, std::string>& metadata) {
  google::rpc::ErrorInfo info;
  info.set_reason(reason);
  info.set_domain(ErrorDomain());
  for (const auto& [key, value] : metadata) (*info.mutable_metadata())[key] = value;

  google::rpc::Status status;
  status.set_code(static_cast<int>(code));
  status.set_message(message);
  status.add_details()->PackFrom(info);
  return grpc::Status(code, message, status.SerializeAsString());
}

grpc::Status GenericInternal() {
  return MakeStatus(grpc::StatusCode::INTERNAL, "internal error", "INTERNAL", {});
}

}  // namespace

Error::Error(ErrorKind kind, std::string reason, std::string message,
             std::map<std::string, std::string> metadata)
    : std::runtime_error(std::move(message)),
      kind_(kind),
      reason_(std::move(reason)),
      metadata_(std::move(metadata)) {}

Error InvalidArgument(std::string field, std::string message) {
  std::string text = field + ": " + message;
  return Error(ErrorKind::kInvalidArgument, "INVALID_ARGUMENT", std::move(text),
               {{"field", std::move(field)}});
}

Error NotFound(std::string what, std::string id) {
  // Rule C-1: the same answer whether the record is missing or another site's.
  std::string text = what + " " + id + " not found";
  return Error(ErrorKind::kNotFound, "NOT_FOUND", std::move(text),
               {{"resource", std::move(what)}, {"id", std::move(id)}});
}

Error FailedPrecondition(std::string reason, std::string message,
                         std::map<std::string, std::string> metadata) {
  return Error(ErrorKind::kFailedPrecondition, std::move(reason), std::move(message),
               std::move(metadata));
}

Error Unavailable(std::string dependency, std::string message) {
  return Error(ErrorKind::kUnavailable, "DEPENDENCY_UNAVAILABLE", std::move(message),
               {{"dependency", std::move(dependency)}});
}

Error Internal(std::string message) {
  return Error(ErrorKind::kInternal, "INTERNAL", std::move(message));
}

void SetErrorDomain(std::string domain) {
  std::lock_guard<std::mutex> lock(DomainMutex());
  DomainSlot() = std::move(domain);
}

const std::string& ErrorDomain() { return DomainSlot(); }

grpc::StatusCode ToGrpcCode(ErrorKind kind) {
  switch (kind) {
    case ErrorKind::kInvalidArgument:
      return grpc::StatusCode::INVALID_ARGUMENT;
    case ErrorKind::kNotFound:
      return grpc::StatusCode::NOT_FOUND;
    case ErrorKind::kAlreadyExists:
      return grpc::StatusCode::ALREADY_EXISTS;
    case ErrorKind::kFailedPrecondition:
      return grpc::StatusCode::FAILED_PRECONDITION;
    case ErrorKind::kAborted:
      return grpc::StatusCode::ABORTED;
    case ErrorKind::kUnavailable:
      return grpc::StatusCode::UNAVAILABLE;
    case ErrorKind::kUnauthenticated:
      return grpc::StatusCode::UNAUTHENTICATED;
    case ErrorKind::kPermissionDenied:
      return grpc::StatusCode::PERMISSION_DENIED;
    case ErrorKind::kResourceExhausted:
      return grpc::StatusCode::RESOURCE_EXHAUSTED;
    case ErrorKind::kDeadlineExceeded:
      return grpc::StatusCode::DEADLINE_EXCEEDED;
    case ErrorKind::kInternal:
      return grpc::StatusCode::INTERNAL;
  }
  return grpc::StatusCode::INTERNAL;
}

std::string_view GrpcCodeName(grpc::StatusCode code) {
  static constexpr std::string_view kNames[] = {"OK",
                                                "CANCELLED",
                                                "UNKNOWN",
                                                "INVALID_ARGUMENT",
                                                "DEADLINE_EXCEEDED",
                                                "NOT_FOUND",
                                                "ALREADY_EXISTS",
                                                "PERMISSION_DENIED",
                                                "RESOURCE_EXHAUSTED",
                                                "FAILED_PRECONDITION",
                                                "ABORTED",
                                                "OUT_OF_RANGE",
                                                "UNIMPLEMENTED",
                                                "INTERNAL",
                                                "UNAVAILABLE",
                                                "DATA_LOSS",
                                                "UNAUTHENTICATED"};
  const int index = static_cast<int>(code);
  if (index < 0 || index >= static_cast<int>(std::size(kNames))) return "UNKNOWN";
  return kNames[index];
}

grpc::Status ToGrpcStatus(const Error& error) {
  return MakeStatus(ToGrpcCode(error.kind()), error.what(), error.reason(), error.metadata());
}

grpc::Status StatusFromException(std::exception_ptr error, std::string* log_detail) {
  log_detail->clear();
  if (error == nullptr) return grpc::Status::OK;
  try {
    std::rethrow_exception(error);
  } catch (const Error& e) {
    return ToGrpcStatus(e);
  } catch (const sql::SQLException& e) {
    // The SQL text and server message stay in the log (ARCHITECTURE.md §5).
    *log_detail = "sql::SQLException code=" + std::to_string(e.getErrorCode()) +
                  " state=" + e.getSQLState() + ": " + e.what();
    if (IsUnavailableSqlCode(e.getErrorCode())) {
      return MakeStatus(grpc::StatusCode::UNAVAILABLE, "the database is unavailable; retry later",
                        "DEPENDENCY_UNAVAILABLE", {{"dependency", "mysql"}});
    }
    return GenericInternal();
  } catch (const std::exception& e) {
    *log_detail = std::string("unexpected exception: ") + e.what();
    return GenericInternal();
  } catch (...) {
    *log_detail = "unexpected non-standard exception";
    return GenericInternal();
  }
}

grpc::Status StatusFromException(std::exception_ptr error) {
  std::string detail;
  grpc::Status status = StatusFromException(std::move(error), &detail);
  if (!detail.empty()) {
    DefaultLogger()->Error("exception mapped to a generic status",
                           {{"code", GrpcCodeName(status.error_code())}, {"error", detail}});
  }
  return status;
}

bool ExtractErrorInfo(const grpc::Status& status, ErrorInfoView* out) {
  if (status.ok() || status.error_details().empty()) return false;
  google::rpc::Status details;
  if (!details.ParseFromString(status.error_details())) return false;
  for (const google::protobuf::Any& any : details.details()) {
    google::rpc::ErrorInfo info;
    if (!any.Is<google::rpc::ErrorInfo>() || !any.UnpackTo(&info)) continue;
    out->reason = info.reason();
    out->domain = info.domain();
    out->metadata.clear();
    for (const auto& [key, value] : info.metadata()) out->metadata[key] = value;
    return true;
  }
  return false;
}

}  // namespace propdesk::common
