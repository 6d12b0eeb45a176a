#include "common/log.h"

#include <fcntl.h>
#include <google/protobuf/struct.pb.h>
#include <google/protobuf/util/json_util.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <ctime>
#include <fstream>
#include <mutex>
#include <regex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

namespace propdesk::common {
namespace {

// Parses one log line as JSON; fails the test when it is not a JSON object.
google::protobuf::Struct ParseLine(const std::string& line) {
  google::protobuf::Struct parsed;
  const auto status = google::protobuf::util::JsonStringToMessage(line, &parsed);
  EXPECT_TRUE(status.ok()) << status.ToString() << " in: " << line;
  return parsed;
}

std::string Str(const google::protobuf::Struct& s, const std::string& key) {
  auto it = s.fields().find(key);
  return it == s.fields().end() ? "<absent>" : it->second.string_value();
}

struct CapturedLines {
  std::mutex mu;
  std::vector<std::string> lines;
  LogSink Sink() {
    return [this](std::string_view line) {
      std::lock_guard<std::mutex> lock(mu);
      lines.emplace_back(line);
    };
  }
};

TEST(Log, LineHasFixedFieldsInOrderAndEndsWithOneNewline) {
  Logger logger("tickets", LogLevel::kDebug);
  const std::string line = logger.FormatLine(
      LogLevel::kInfo, "rpc done",
      {.request_id = "r-1", .site = "SZ01", .principal = "s-17", .rpc = "CreateTicket"},
      {{"code", "OK"}, {"ms", 3.5}, {"attempt", 2}, {"retried", false}});
  ASSERT_EQ(line.back(), '\n');
  EXPECT_EQ(line.find('\n'), line.size() - 1) << "exactly one newline, at the end";
  EXPECT_EQ(line.rfind("{\"ts\":\"", 0), 0u) << line;
  const std::regex shape(
      R"(^\{"ts":"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z","level":"info","service":"tickets",)"
      R"("msg":"rpc done","request_id":"r-1","site":"SZ01","principal":"s-17",)"
      R"("rpc":"CreateTicket","code":"OK","ms":3.5,"attempt":2,"retried":false\}\n$)");
  EXPECT_TRUE(std::regex_match(line, shape)) << line;
  ParseLine(line);
}

TEST(Log, TimestampIsCurrentUtc) {
  Logger logger("tickets", LogLevel::kDebug);
  const google::protobuf::Struct parsed =
      ParseLine(logger.FormatLine(LogLevel::kInfo, "x", {}, {}));
  char expected_prefix[32];
  const std::time_t now = std::time(nullptr);
  std::tm utc{};
  gmtime_r(&now, &utc);
  std::strftime(expected_prefix, sizeof(expected_prefix), "%Y-%m-%dT%H", &utc);
  // The hour can only differ if the test runs across an hour boundary.
  EXPECT_EQ(Str(parsed, "ts").substr(0, 13), expected_prefix);
}

TEST(Log, UnknownContextFieldsAreOmitted) {
  Logger logger("keys", LogLevel::kDebug);
  const std::string line = logger.FormatLine(LogLevel::kWarn, "hello", {.site = "SZ01"}, {});
  const google::protobuf::Struct parsed = ParseLine(line);
  EXPECT_EQ(Str(parsed, "site"), "SZ01");
  EXPECT_EQ(parsed.fields().count("request_id"), 0u);
  EXPECT_EQ(parsed.fields().count("principal"), 0u);
  EXPECT_EQ(parsed.fields().count("rpc"), 0u);
  EXPECT_EQ(Str(parsed, "level"), "warn");
}

TEST(Log, EscapesEverythingJsonNeedsAndKeepsUtf8) {
  Logger logger("mail", LogLevel::kDebug);
  const std::string nasty = "quote\" backslash\\ newline\n tab\t cr\r bell\x07 nul" +
                            std::string(1, '\0') + " del\x7f 客服 ✓ 😀";
  const std::string line =
      logger.FormatLine(LogLevel::kError, nasty, {.request_id = "a\"b"}, {{"k\"ey", nasty}});
  EXPECT_EQ(line.find('\n'), line.size() - 1) << "raw newline leaked: " << line;
  const google::protobuf::Struct parsed = ParseLine(line);
  EXPECT_EQ(Str(parsed, "msg"), nasty);
  EXPECT_EQ(Str(parsed, "request_id"), "a\"b");
  EXPECT_EQ(Str(parsed, "k\"ey"), nasty);
}

TEST(Log, InvalidUtf8IsReplacedSoTheLineStaysValid) {
  Logger logger("mail", LogLevel::kDebug);
  // A stray continuation byte, a truncated sequence, an overlong '/', a
  // surrogate, and a byte that never starts UTF-8.
  const std::string bad =
      "a\x80"
      "b\xE4\xB8"
      "c\xC0\xAF"
      "d\xED\xA0\x80"
      "e\xFF";
  const google::protobuf::Struct parsed =
      ParseLine(logger.FormatLine(LogLevel::kInfo, bad, {}, {}));
  const std::string msg = Str(parsed, "msg");
  EXPECT_EQ(msg.substr(0, 1), "a");
  EXPECT_NE(msg.find("\xEF\xBF\xBD"), std::string::npos) << msg;
  EXPECT_EQ(msg.find('\x80'), std::string::npos);
  EXPECT_EQ(msg.find('\xFF'), std::string::npos);
  for (char c : std::string("abcde")) EXPECT_NE(msg.find(c), std::string::npos) << c;
}

TEST(Log, NonFiniteDoubleIsNull) {
  Logger logger("x", LogLevel::kDebug);
  const google::protobuf::Struct parsed =
      ParseLine(logger.FormatLine(LogLevel::kInfo, "m", {}, {{"ratio", std::nan("")}}));
  EXPECT_EQ(parsed.fields().at("ratio").kind_case(), google::protobuf::Value::kNullValue);
}

TEST(Log, LevelFilterDropsLinesBelowTheMinimum) {
  CapturedLines captured;
  Logger logger("billing", LogLevel::kWarn, captured.Sink());
  logger.Debug("d");
  logger.Info("i");
  logger.Warn("w");
  logger.Error("e");
  ASSERT_EQ(captured.lines.size(), 2u);
  EXPECT_EQ(Str(ParseLine(captured.lines[0]), "msg"), "w");
  EXPECT_EQ(Str(ParseLine(captured.lines[1]), "level"), "error");
  EXPECT_FALSE(logger.Enabled(LogLevel::kInfo));
  EXPECT_TRUE(logger.Enabled(LogLevel::kError));
}

TEST(Log, ParsesLogLevelNames) {
  EXPECT_EQ(ParseLogLevel("debug"), LogLevel::kDebug);
  EXPECT_EQ(ParseLogLevel("info"), LogLevel::kInfo);
  EXPECT_EQ(ParseLogLevel("warn"), LogLevel::kWarn);
  EXPECT_EQ(ParseLogLevel("error"), LogLevel::kError);
  EXPECT_EQ(ParseLogLevel("INFO"), std::nullopt);
  EXPECT_EQ(ParseLogLevel("warning"), std::nullopt);
  EXPECT_EQ(ParseLogLevel(""), std::nullopt);
}

// Redirects the process's stderr to a file for the lifetime of the object.
class StderrToFile {
 public:
  explicit StderrToFile(const std::string& path) {
    saved_ = ::dup(STDERR_FILENO);
    const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_APPEND, 0600);
    ::dup2(fd, STDERR_FILENO);
    ::close(fd);
  }
  ~StderrToFile() {
    ::dup2(saved_, STDERR_FILENO);
    ::close(saved_);
  }

 private:
  int saved_;
};

TEST(Log, StderrLinesOfConcurrentThreadsNeverInterleave) {
  const std::string path = ::testing::TempDir() + "/log_test_stderr.txt";
  constexpr int kThreads = 8;
  constexpr int kLinesPerThread = 200;
  const std::string payload(3000, 'x');  // long lines make interleaving likely if unlocked
  {
    StderrToFile redirect(path);
    Logger logger("tickets", LogLevel::kInfo);  // StderrSink
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
      threads.emplace_back([&, t] {
        for (int i = 0; i < kLinesPerThread; ++i) {
          logger.Info(payload, {{"thread", t}, {"i", i}});
        }
      });
    }
    for (auto& thread : threads) thread.join();
  }
  std::ifstream in(path);
  std::string line;
  int count = 0;
  std::vector<int> per_thread(kThreads, 0);
  while (std::getline(in, line)) {
    const google::protobuf::Struct parsed = ParseLine(line);
    ASSERT_EQ(Str(parsed, "msg"), payload);
    ++per_thread[static_cast<int>(parsed.fields().at("thread").number_value())];
    ++count;
  }
  EXPECT_EQ(count, kThreads * kLinesPerThread);
  for (int n : per_thread) EXPECT_EQ(n, kLinesPerThread);
}

TEST(Log, DefaultLoggerCanBeReplaced) {
  auto captured = std::make_shared<CapturedLines>();
  auto before = DefaultLogger();
  SetDefaultLogger(std::make_shared<const Logger>("visitors", LogLevel::kInfo, captured->Sink()));
  DefaultLogger()->Info("through the default");
  SetDefaultLogger(before);
  ASSERT_EQ(captured->lines.size(), 1u);
  EXPECT_EQ(Str(ParseLine(captured->lines[0]), "service"), "visitors");
}

}  // namespace
}  // namespace propdesk::common
