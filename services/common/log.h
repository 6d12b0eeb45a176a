#pragma once

// Structured logging (ARCHITECTURE.md §12): one JSON object per line on
// stderr, e.g.
//   {"ts":"2024-02-14T08:30:00.123Z","level":"info","service":"tickets",
//    "msg":"rpc done","request_id":"4f…","site":"SZ01","principal":"s-17",
//    "rpc":"CreateTicket","code":"OK","ms":3.2}
// `ts` is RFC 3339 UTC with milliseconds; request_id, site, principal and rpc
// appear only when known; extra key/values follow. Every string is escaped
// (and invalid UTF-8 replaced by U+FFFD), so a line is always valid JSON.
// Thread-safe: each line is built first and written with one write under a
// process-wide lock, so lines of different threads never interleave.

#include <concepts>
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace propdesk::common {

enum class LogLevel { kDebug = 0, kInfo = 1, kWarn = 2, kError = 3 };

// "debug", "info", "warn", "error" (as LOG_LEVEL spells them).
std::string_view LogLevelName(LogLevel level);
std::optional<LogLevel> ParseLogLevel(std::string_view name);

// What is known about the call a line belongs to. Empty fields are omitted.
struct LogContext {
  std::string_view request_id = {};
  std::string_view site = {};
  std::string_view principal = {};
  std::string_view rpc = {};
};

// One extra key/value of a line; the value is rendered as JSON on
// construction (strings quoted and escaped, numbers and booleans bare).
class LogField {
 public:
  LogField(std::string_view key, std::string_view value);
  LogField(std::string_view key, const char* value)
      : LogField(key, std::string_view(value == nullptr ? "" : value)) {}
  LogField(std::string_view key, const std::string& value)
      : LogField(key, std::string_view(value)) {}
  LogField(std::string_view key, bool value);
  LogField(std::string_view key, double value);
  template <std::integral T>
  requires(!std::same_as<T, bool>) LogField(std::string_view key, T value)
      : key_(key), json_value_(std::to_string(value)) {}

  std::string_view key() const { return key_; }
  const std::string& json_value() const { return json_value_; }

 private:
  std::string_view key_;
  std::string json_value_;
};

// Receives whole lines (each ending in '\n').
using LogSink = std::function<void(std::string_view line)>;

// Writes each line to stderr with one write(2) under a process-wide mutex.
LogSink StderrSink();

class Logger {
 public:
  Logger(std::string service, LogLevel min_level, LogSink sink = StderrSink());

  bool Enabled(LogLevel level) const { return level >= min_level_; }
  LogLevel min_level() const { return min_level_; }
  const std::string& service() const { return service_; }

  void Log(LogLevel level, std::string_view msg, const LogContext& context,
           std::initializer_list<LogField> fields = {}) const;

  void Debug(std::string_view msg, std::initializer_list<LogField> fields = {}) const {
    Log(LogLevel::kDebug, msg, {}, fields);
  }
  void Info(std::string_view msg, std::initializer_list<LogField> fields = {}) const {
    Log(LogLevel::kInfo, msg, {}, fields);
  }
  void Warn(std::string_view msg, std::initializer_list<LogField> fields = {}) const {
    Log(LogLevel::kWarn, msg, {}, fields);
  }
  void Error(std::string_view msg, std::initializer_list<LogField> fields = {}) const {
    Log(LogLevel::kError, msg, {}, fields);
  }

  // The line Log would write (without the level filter); for tests.
  std::string FormatLine(LogLevel level, std::string_view msg, const LogContext& context,
                         std::initializer_list<LogField> fields) const;

 private:
  const std::string service_;
  const LogLevel min_level_;
  const LogSink sink_;
};

// The process logger, for code that has no Logger handed to it (error
// mapping, background threads). Until SetDefaultLogger is called it logs
// service "propdesk" at info to stderr. Main sets it once at start-up.
std::shared_ptr<const Logger> DefaultLogger();
void SetDefaultLogger(std::shared_ptr<const Logger> logger);

// Appends `text` as a JSON string literal (with quotes) to `out`.
void AppendJsonString(std::string& out, std::string_view text);

}  // namespace propdesk::common
