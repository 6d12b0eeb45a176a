#include "common/log.h"

#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <ctime>
#include <mutex>
#include <utility>

namespace propdesk::common {
namespace {

// Length of the valid UTF-8 sequence starting at text[i], or 0 when the
// bytes there are not valid UTF-8 (overlong forms, surrogates and code points
// above U+10FFFF included).
size_t Utf8SequenceLength(std::string_view text, size_t i) {
  const auto byte = [&](size_t k) { return static_cast<unsigned char>(text[k]); };
  const unsigned char b0 = byte(i);
  if (b0 < 0x80) return 1;
  struct Lead {
    unsigned char mask, value;
    size_t length;
    uint32_t min_code_point;
  };
  static constexpr Lead kLeads[] = {
      {0xE0, 0xC0, 2, 0x80}, {0xF0, 0xE0, 3, 0x800}, {0xF8, 0xF0, 4, 0x10000}};
  const Lead* lead = nullptr;
  for (const Lead& candidate : kLeads) {
    if ((b0 & candidate.mask) == candidate.value) lead = &candidate;
  }
  if (lead == nullptr) return 0;
  const size_t length = lead->length;
  const uint32_t min_code_point = lead->min_code_point;
  uint32_t code_point = b0 & static_cast<unsigned char>(~lead->mask);
  if (i + length > text.size()) return 0;
  for (size_t k = 1; k < length; ++k) {
    if ((byte(i + k) & 0xC0) != 0x80) return 0;
    code_point = (code_point << 6) | (byte(i + k) & 0x3F);
  }
  if (code_point < min_code_point || code_point > 0x10FFFF) return 0;
  if (code_point >= 0xD800 && code_point <= 0xDFFF) return 0;
  return length;
}

void AppendTimestamp(std::string& out, std::chrono::system_clock::time_point now) {
  const auto ms_since_epoch =
      std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count();
  const std::time_t seconds = static_cast<std::time_t>(ms_since_epoch / 1000);
  std::tm utc{};
  gmtime_r(&seconds, &utc);
  char buf[40];
  const size_t n = std::strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%S", &utc);
  out.append(buf, n);
  const int millis = static_cast<int>(ms_since_epoch % 1000);
  std::snprintf(buf, sizeof(buf), ".%03dZ", millis);
  out.append(buf);
}

void AppendKey(std::string& out, std::string_view key) {
  out.push_back(',');
  AppendJsonString(out, key);
  out.push_back(':');
}

void AppendStringField(std::string& out, std::string_view key, std::string_view value) {
  if (value.empty()) return;
  AppendKey(out, key);
  AppendJsonString(out, value);
}

std::mutex& StderrMutex() {
  static std::mutex mu;
  return mu;
}

std::mutex& DefaultLoggerMutex() {
  static std::mutex mu;
  return mu;
}

std::shared_ptr<const Logger>& DefaultLoggerSlot() {  // guarded by DefaultLoggerMutex()
  static std::shared_ptr<const Logger> logger =
      std::make_shared<const Logger>("propdesk", LogLevel::kInfo);
  return logger;
}

}  // namespace

std::string_view LogLevelName(LogLevel level) {
  switch (level) {
    case LogLevel::kDebug:
      return "debug";
    case LogLevel::kInfo:
      return "info";
    case LogLevel::kWarn:
      return "warn";
    case LogLevel::kError:
      return "error";
  }
  return "info";
}

std::optional<LogLevel> ParseLogLevel(std::string_view name) {
  for (LogLevel level : {LogLevel::kDebug, LogLevel::kInfo, LogLevel::kWarn, LogLevel::kError}) {
    if (name == LogLevelName(level)) return level;
  }
  return std::nullopt;
}

void AppendJsonString(std::string& out, std::string_view text) {
  static constexpr char kHex[] = "0123456789abcdef";
  out.push_back('"');
  size_t i = 0;
  while (i < text.size()) {
    const unsigned char c = static_cast<unsigned char>(text[i]);
    if (c >= 0x80) {
      const size_t length = Utf8SequenceLength(text, i);
      if (length == 0) {
        out.append("\xEF\xBF\xBD");  // U+FFFD: keeps the line valid UTF-8
        ++i;
      } else {
        out.append(text.substr(i, length));
        i += length;
      }
      continue;
    }
    switch (c) {
      case '"':
        out.append("\\\"");
        break;
      case '\\':
        out.append("\\\\");
        break;
      case '\n':
        out.append("\\n");
        break;
      case '\r':
        out.append("\\r");
        break;
      case '\t':
        out.append("\\t");
        break;
      case '\b':
        out.append("\\b");
        break;
      case '\f':
        out.append("\\f");
        break;
      default:
        if (c < 0x20 || c == 0x7F) {
          out.append("\\u00");
          out.push_back(kHex[c >> 4]);
          out.push_back(kHex[c & 0xF]);
        } else {
          out.push_back(static_cast<char>(c));
        }
    }
    ++i;
  }
  out.push_back('"');
}

LogField::LogField(std::string_view key, std::string_view value) : key_(key) {
  AppendJsonString(json_value_, value);
}

LogField::LogField(std::string_view key, bool value)
    : key_(key), json_value_(value ? "true" : "false") {}

LogField::LogField(std::string_view key, double value) : key_(key) {
  if (!std::isfinite(value)) {
    json_value_ = "null";  // JSON has no NaN or infinity
    return;
  }
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%.6g", value);
  json_value_ = buf;
}

LogSink StderrSink() {
  return [](std::string_view line) {
    std::lock_guard<std::mutex> lock(StderrMutex());
    const char* data = line.data();
    size_t left = line.size();
    while (left > 0) {
      const ssize_t n = ::write(STDERR_FILENO, data, left);
      if (n < 0) {
        if (errno == EINTR) continue;
        return;  // nowhere left to report a failing stderr
      }
      data += n;
      left -= static_cast<size_t>(n);
    }
  };
}

Logger::Logger(std::string service, LogLevel min_level, LogSink sink)
    : service_(std::move(service)), min_level_(min_level), sink_(std::move(sink)) {}

std::string Logger::FormatLine(LogLevel level, std::string_view msg, const LogContext& context,
                               std::initializer_list<LogField> fields) const {
  std::string line;
  line.reserve(160 + msg.size());
  line.append("{\"ts\":\"");
  AppendTimestamp(line, std::chrono::system_clock::now());
  line.append("\",\"level\":\"");
  line.append(LogLevelName(level));
  line.push_back('"');
  AppendKey(line, "service");
  AppendJsonString(line, service_);
  AppendKey(line, "msg");
  AppendJsonString(line, msg);
  AppendStringField(line, "request_id", context.request_id);
  AppendStringField(line, "site", context.site);
  AppendStringField(line, "principal", context.principal);
  AppendStringField(line, "rpc", context.rpc);
  for (const LogField& field : fields) {
    AppendKey(line, field.key());
    line.append(field.json_value());
  }
  line.append("}\n");
  return line;
}

void Logger::Log(LogLevel level, std::string_view msg, const LogContext& context,
                 std::initializer_list<LogField> fields) const {
  if (!Enabled(level)) return;
  sink_(FormatLine(level, msg, context, fields));
}

std::shared_ptr<const Logger> DefaultLogger() {
  std::lock_guard<std::mutex> lock(DefaultLoggerMutex());
  return DefaultLoggerSlot();
}

void SetDefaultLogger(std::shared_ptr<const Logger> logger) {
  if (logger == nullptr) return;
  std::lock_guard<std::mutex> lock(DefaultLoggerMutex());
  DefaultLoggerSlot() = std::move(logger);
}

}  // namespace propdesk::common
