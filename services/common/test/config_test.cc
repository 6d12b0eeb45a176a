#include "common/config.h"

#include <google/protobuf/struct.pb.h>
#include <google/protobuf/util/json_util.h>
#include <gtest/gtest.h>

#include <fstream>
#include <map>
#include <string>

namespace propdesk::common {
namespace {

using std::chrono::milliseconds;

const std::string kSecret = "0123456789abcdef0123456789abcdef";  // 32 bytes

std::map<std::string, std::string> ValidVars() {
  return {{"GRPC_PORT", "7001"},
          {"METRICS_PORT", "9101"},
          {"MYSQL_DSN", "mysql://propdesk:pw@127.0.0.1:3306/propdesk_tickets"},
          {"REDIS_ADDR", "127.0.0.1:6379"},
          {"JWT_HS256_SECRET", kSecret}};
}

// The BAD_CONFIG error LoadCommonConfig throws for `vars`; fails the test
// when it does not throw one.
Error LoadError(const std::map<std::string, std::string>& vars) {
  try {
    LoadCommonConfig("tickets", Env::FromMap(vars));
  } catch (const Error& e) {
    return e;
  }
  ADD_FAILURE() << "configuration was accepted";
  return Error(ErrorKind::kInternal, "NONE", "");
}

TEST(Config, DefaultsApplyWhenOnlyRequiredVariablesAreSet) {
  const CommonConfig c = LoadCommonConfig("tickets", Env::FromMap(ValidVars()));
  EXPECT_EQ(c.service_name, "tickets");
  EXPECT_EQ(c.grpc_port, 7001);
  EXPECT_EQ(c.metrics_port, 9101);
  EXPECT_EQ(c.mysql_dsn, "mysql://propdesk:pw@127.0.0.1:3306/propdesk_tickets");
  EXPECT_EQ(c.redis_addr, "127.0.0.1:6379");
  EXPECT_EQ(c.jwt.hs256_secret, kSecret);
  EXPECT_TRUE(c.jwt.rs256_public_key_pem.empty());
  EXPECT_EQ(c.jwt.audience, "propdesk");
  EXPECT_EQ(c.jwt.issuer, "");
  EXPECT_EQ(c.jwt.leeway, std::chrono::seconds(30));
  EXPECT_EQ(c.log_level, LogLevel::kInfo);
  EXPECT_EQ(c.shutdown_grace, std::chrono::seconds(20));
  EXPECT_EQ(c.executor_threads, 8);
  EXPECT_EQ(c.executor_queue, 512);
  EXPECT_EQ(c.readiness_interval, milliseconds(1000));
}

TEST(Config, ExplicitValuesOverrideDefaults) {
  auto vars = ValidVars();
  vars["GRPC_PORT"] = "0";  // documented: any free port
  vars["METRICS_PORT"] = "65535";
  vars["JWT_AUDIENCE"] = "desk";
  vars["JWT_ISSUER"] = "https://sso.example";
  vars["JWT_LEEWAY_SECONDS"] = "0";
  vars["LOG_LEVEL"] = "debug";
  vars["SHUTDOWN_GRACE_SECONDS"] = "5";
  vars["EXECUTOR_THREADS"] = "16";
  vars["EXECUTOR_QUEUE"] = "100000";
  vars["READINESS_INTERVAL_MS"] = "2s";
  const CommonConfig c = LoadCommonConfig("keys", Env::FromMap(vars));
  EXPECT_EQ(c.grpc_port, 0);
  EXPECT_EQ(c.metrics_port, 65535);
  EXPECT_EQ(c.jwt.audience, "desk");
  EXPECT_EQ(c.jwt.issuer, "https://sso.example");
  EXPECT_EQ(c.jwt.leeway, std::chrono::seconds(0));
  EXPECT_EQ(c.log_level, LogLevel::kDebug);
  EXPECT_EQ(c.shutdown_grace, std::chrono::seconds(5));
  EXPECT_EQ(c.executor_threads, 16);
  EXPECT_EQ(c.executor_queue, 100000);
  EXPECT_EQ(c.readiness_interval, milliseconds(2000));
}

struct BadCase {
  const char* variable;
  const char* value;     // nullptr = unset
  const char* expected;  // a phrase of the reason
};

TEST(Config, EachBadValueGivesAOneLineReasonNamingTheVariable) {
  const BadCase cases[] = {
      {"GRPC_PORT", nullptr, "GRPC_PORT is required but not set"},
      {"GRPC_PORT", "", "GRPC_PORT is required but not set"},
      {"GRPC_PORT", "abc",
       "GRPC_PORT must be a port number 0-65535 (0 = any free port), got \"abc\""},
      {"GRPC_PORT", "65536", "got \"65536\""},
      {"GRPC_PORT", "-1", "GRPC_PORT must be a port number"},
      {"GRPC_PORT", "80 ", "GRPC_PORT must be a port number"},
      {"GRPC_PORT", "99999999999999999999", "GRPC_PORT must be a port number"},
      {"METRICS_PORT", nullptr, "METRICS_PORT is required"},
      {"METRICS_PORT", "9o90", "METRICS_PORT must be a port number"},
      {"MYSQL_DSN", nullptr, "MYSQL_DSN is required but not set"},
      {"MYSQL_DSN", "postgres://x", "MYSQL_DSN must start with mysql://"},
      {"REDIS_ADDR", nullptr, "REDIS_ADDR is required but not set"},
      {"REDIS_ADDR", "localhost", "REDIS_ADDR must be host:port"},
      {"REDIS_ADDR", "localhost:0", "REDIS_ADDR must end in a port 1-65535"},
      {"REDIS_ADDR", "localhost:http", "REDIS_ADDR must end in a port 1-65535"},
      {"JWT_HS256_SECRET", nullptr, "JWT_HS256_SECRET or JWT_RS256_PUBLIC_KEY_FILE must be set"},
      {"JWT_HS256_SECRET", "short", "JWT_HS256_SECRET must be at least 32 bytes long (got 5)"},
      {"JWT_LEEWAY_SECONDS", "301", "JWT_LEEWAY_SECONDS must be an integer 0-300, got \"301\""},
      {"LOG_LEVEL", "verbose",
       "LOG_LEVEL must be one of debug, info, warn, error; got \"verbose\""},
      {"LOG_LEVEL", "INFO", "LOG_LEVEL must be one of"},
      {"SHUTDOWN_GRACE_SECONDS", "1.5", "SHUTDOWN_GRACE_SECONDS must be an integer 0-300"},
      {"EXECUTOR_THREADS", "0", "EXECUTOR_THREADS must be an integer 1-256, got \"0\""},
      {"EXECUTOR_THREADS", "257", "EXECUTOR_THREADS must be an integer 1-256"},
      {"EXECUTOR_QUEUE", "lots", "EXECUTOR_QUEUE must be an integer 1-100000"},
      {"READINESS_INTERVAL_MS", "2h", "READINESS_INTERVAL_MS must be a duration 50ms-60000ms"},
      {"READINESS_INTERVAL_MS", "10", "READINESS_INTERVAL_MS must be a duration"},
      {"READINESS_INTERVAL_MS", "2m", "READINESS_INTERVAL_MS must be a duration"},
      {"READINESS_INTERVAL_MS", "-5s", "READINESS_INTERVAL_MS must be a duration"},
      {"READINESS_INTERVAL_MS", "ms", "READINESS_INTERVAL_MS must be a duration"},
  };
  for (const BadCase& c : cases) {
    auto vars = ValidVars();
    if (c.value == nullptr) {
      vars.erase(c.variable);
    } else {
      vars[c.variable] = c.value;
    }
    const Error error = LoadError(vars);
    const std::string reason = error.what();
    SCOPED_TRACE(std::string(c.variable) + "=" + (c.value ? c.value : "<unset>"));
    EXPECT_EQ(error.kind(), ErrorKind::kInvalidArgument);
    EXPECT_EQ(error.reason(), "BAD_CONFIG");
    EXPECT_EQ(error.metadata().at("variable"), c.variable);
    EXPECT_EQ(reason.rfind(c.variable, 0), 0u) << reason;
    EXPECT_NE(reason.find(c.expected), std::string::npos) << reason;
    EXPECT_EQ(reason.find('\n'), std::string::npos) << "one line: " << reason;
  }
}

TEST(Config, SecretsAreNeverEchoed) {
  auto vars = ValidVars();
  vars["JWT_HS256_SECRET"] = "tooshort-secret";
  EXPECT_EQ(std::string(LoadError(vars).what()).find("tooshort-secret"), std::string::npos);
  vars = ValidVars();
  vars["MYSQL_DSN"] = "mysq://user:hunter2@db/x";
  EXPECT_EQ(std::string(LoadError(vars).what()).find("hunter2"), std::string::npos);
}

TEST(Config, ExactlyOneJwtKeyMustBeConfigured) {
  auto vars = ValidVars();
  vars["JWT_RS256_PUBLIC_KEY_FILE"] = "/nonexistent";
  EXPECT_NE(std::string(LoadError(vars).what()).find("both set; set exactly one"),
            std::string::npos);
}

TEST(Config, Rs256KeyIsReadFromTheNamedFile) {
  const std::string path = ::testing::TempDir() + "/config_test_key.pem";
  const std::string pem =
      "-----BEGIN PUBLIC KEY-----\nMIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA\n"
      "-----END PUBLIC KEY-----\n";
  std::ofstream(path) << pem;
  auto vars = ValidVars();
  vars.erase("JWT_HS256_SECRET");
  vars["JWT_RS256_PUBLIC_KEY_FILE"] = path;
  const CommonConfig c = LoadCommonConfig("billing", Env::FromMap(vars));
  EXPECT_EQ(c.jwt.rs256_public_key_pem, pem);
  EXPECT_TRUE(c.jwt.hs256_secret.empty());

  vars["JWT_RS256_PUBLIC_KEY_FILE"] = ::testing::TempDir() + "/no_such_key.pem";
  Error missing = LoadError(vars);
  EXPECT_NE(std::string(missing.what()).find("names a file that cannot be read"),
            std::string::npos);
  EXPECT_EQ(missing.metadata().at("variable"), "JWT_RS256_PUBLIC_KEY_FILE");

  const std::string not_pem = ::testing::TempDir() + "/config_test_not_pem.txt";
  std::ofstream(not_pem) << "hello";
  vars["JWT_RS256_PUBLIC_KEY_FILE"] = not_pem;
  EXPECT_NE(std::string(LoadError(vars).what()).find("must name a PEM file"), std::string::npos);
}

TEST(Config, EnvReadersWorkOnTheirOwn) {
  const Env env = Env::FromMap({{"A", "5"},
                                {"D1", "250ms"},
                                {"D2", "3s"},
                                {"D3", "1m"},
                                {"D4", "750"},
                                {"E", ""},
                                {"P", "0"}});
  EXPECT_EQ(env.Int("A", 1, 10), 5);
  EXPECT_EQ(env.Int("MISSING", 1, 10, 7), 7);
  EXPECT_THROW(env.Int("MISSING", 1, 10), Error);
  EXPECT_EQ(env.DurationMs("D1", milliseconds(0), milliseconds(100000), milliseconds(1)),
            milliseconds(250));
  EXPECT_EQ(env.DurationMs("D2", milliseconds(0), milliseconds(100000), milliseconds(1)),
            milliseconds(3000));
  EXPECT_EQ(env.DurationMs("D3", milliseconds(0), milliseconds(100000), milliseconds(1)),
            milliseconds(60000));
  EXPECT_EQ(env.DurationMs("D4", milliseconds(0), milliseconds(100000), milliseconds(1)),
            milliseconds(750));
  EXPECT_EQ(env.Optional("E", "fallback"), "fallback") << "empty counts as unset";
  EXPECT_EQ(env.Get("E"), std::nullopt);
  EXPECT_EQ(env.Port("P", /*allow_zero=*/true), 0);
  EXPECT_THROW(env.Port("P", /*allow_zero=*/false), Error) << "0 only where documented";
  EXPECT_EQ(env.Port("MISSING", false, 8080), 8080);
  enum class Color { kRed, kBlue };
  EXPECT_EQ(
      env.Enum<Color>("MISSING", {{"red", Color::kRed}, {"blue", Color::kBlue}}, Color::kBlue),
      Color::kBlue);
}

TEST(Config, ErrorLineIsOneJsonLineNamingTheVariable) {
  auto vars = ValidVars();
  vars["GRPC_PORT"] = "seventy";
  std::exception_ptr error;
  try {
    LoadCommonConfig("tickets", Env::FromMap(vars));
  } catch (...) {
    error = std::current_exception();
  }
  ASSERT_NE(error, nullptr);
  const std::string line = ConfigErrorLine("tickets", error);
  EXPECT_EQ(line.find('\n'), line.size() - 1);
  google::protobuf::Struct parsed;
  ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(line, &parsed).ok()) << line;
  EXPECT_EQ(parsed.fields().at("level").string_value(), "error");
  EXPECT_EQ(parsed.fields().at("service").string_value(), "tickets");
  EXPECT_EQ(parsed.fields().at("variable").string_value(), "GRPC_PORT");
  EXPECT_EQ(parsed.fields().at("msg").string_value(),
            "bad configuration: GRPC_PORT must be a port number 0-65535 (0 = any free port), "
            "got \"seventy\"");
}

TEST(ConfigDeathTest, BadConfigurationExitsWithCode2AndTheReasonOnStderr) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  auto vars = ValidVars();
  vars["EXECUTOR_THREADS"] = "many";
  EXPECT_EXIT(
      LoadConfigOrExit("tickets", [&] { return LoadCommonConfig("tickets", Env::FromMap(vars)); }),
      ::testing::ExitedWithCode(2),
      R"(^\{"ts":".*"msg":"bad configuration: EXECUTOR_THREADS must be an integer )"
      R"(1-256, got \\"many\\"","variable":"EXECUTOR_THREADS"\})");
}

TEST(Config, LoadConfigOrExitReturnsTheConfigWhenValid) {
  const CommonConfig c = LoadConfigOrExit(
      "tickets", [&] { return LoadCommonConfig("tickets", Env::FromMap(ValidVars())); });
  EXPECT_EQ(c.grpc_port, 7001);
}

}  // namespace
}  // namespace propdesk::common
