#pragma once

// The one error vocabulary of propdesk (ARCHITECTURE.md §5). Logic and store
// code throw propdesk::common::Error; the gRPC layer turns it into a status
// with google.rpc.ErrorInfo{reason, domain}. Anything else that escapes
// (a SQL exception, a std::exception) becomes INTERNAL or UNAVAILABLE with a
// generic message: SQL text never reaches a client.

#include <grpcpp/support/status.h>

#include <exception>
#include <map>
#include <stdexcept>
#include <string>
#include <string_view>

namespace propdesk::common {

enum class ErrorKind {
  kInvalidArgument,     // validation failed
  kNotFound,            // missing, or another site's record (rule C-1)
  kAlreadyExists,       // duplicate
  kFailedPrecondition,  // illegal state transition
  kAborted,             // optimistic-lock conflict, concurrent duplicate
  kUnavailable,         // a dependency (MySQL, Redis, a peer) is down
  kUnauthenticated,     // no or bad credentials
  kPermissionDenied,    // authenticated, but the role may not do this
  kResourceExhausted,   // rate limit, queue full
  kDeadlineExceeded,    // the work did not finish in time
  kInternal,            // a bug or an impossible state
};

class Error : public std::runtime_error {
 public:
  // `reason` is an UPPER_SNAKE_CASE constant a client can switch on;
  // `message` is for a person and must say what to change.
  Error(ErrorKind kind, std::string reason, std::string message,
        std::map<std::string, std::string> metadata = {});

  ErrorKind kind() const { return kind_; }
  const std::string& reason() const { return reason_; }
  const std::map<std::string, std::string>& metadata() const { return metadata_; }

 private:
  ErrorKind kind_;
  std::string reason_;
  std::map<std::string, std::string> metadata_;
};

// Shorthands for the common cases.
Error InvalidArgument(std::string field, std::string message);
Error NotFound(std::string what, std::string id);
Error FailedPrecondition(std::string reason, std::string message,
                         std::map<std::string, std::string> metadata = {});
Error Unavailable(std::string dependency, std::string message);
Error Internal(std::string message);

// The domain put into every ErrorInfo, e.g. "tickets.propdesk". Set once at
// start-up by the service's main.
void SetErrorDomain(std::string domain);
const std::string& ErrorDomain();

grpc::StatusCode ToGrpcCode(ErrorKind kind);

// "OK", "NOT_FOUND", … as google.rpc.Code spells them (log lines, the
// grpc_code metric label).
std::string_view GrpcCodeName(grpc::StatusCode code);

// Status with google.rpc.Status{code, message, details: [ErrorInfo]} in the
// binary details, as gRPC clients and the gateway expect.
grpc::Status ToGrpcStatus(const Error& error);

// Maps whatever was thrown (Error, sql::SQLException, anything else).
// Unknown exceptions are INTERNAL with a generic message; the original text
// is only logged, never returned.
grpc::Status StatusFromException(std::exception_ptr error);
// The same, without logging: when the client gets a generic message,
// `*log_detail` receives the original text (exception type, SQL error code
// and text) for the caller to put in its own log line (RunUnary does, so a
// failed call is one line with its request id). Cleared otherwise.
grpc::Status StatusFromException(std::exception_ptr error, std::string* log_detail);

// Reads ErrorInfo back out of a status (used by tests and the gateway).
struct ErrorInfoView {
  std::string reason;
  std::string domain;
  std::map<std::string, std::string> metadata;
};
bool ExtractErrorInfo(const grpc::Status& status, ErrorInfoView* out);

}  // namespace propdesk::common
