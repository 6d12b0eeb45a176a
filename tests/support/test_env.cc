#include "support/test_env.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <stdexcept>

namespace propdesk::testing {
namespace {

std::string Getenv(const char* name) {
  const char* v = std::getenv(name);
  return v == nullptr ? "" : v;
}

[[noreturn]] void HarnessMissing(const std::string& what) {
  ADD_FAILURE() << what
                << " — integration tests need the MariaDB/Redis harness; run them through ctest "
                   "(e.g. `ctest --test-dir build -R <name>`), which starts it.";
  throw std::runtime_error(what);
}

const std::map<std::string, std::string>& EnvFile() {
  static const std::map<std::string, std::string> values = [] {
    std::map<std::string, std::string> out;
    const std::string path = Getenv("PROPDESK_TEST_ENV");
    if (path.empty()) HarnessMissing("PROPDESK_TEST_ENV is not set");
    std::ifstream in(path);
    if (!in) HarnessMissing("cannot read " + path);
    std::string line;
    while (std::getline(in, line)) {
      const auto eq = line.find('=');
      if (eq != std::string::npos) out[line.substr(0, eq)] = line.substr(eq + 1);
    }
    return out;
  }();
  return values;
}

std::string Value(const std::string& key) {
  const auto it = EnvFile().find(key);
  if (it == EnvFile().end()) HarnessMissing(key + " missing from the harness env file");
  return it->second;
}

std::string Harness() {
  const std::string path = Getenv("PROPDESK_HARNESS");
  if (path.empty()) HarnessMissing("PROPDESK_HARNESS is not set");
  return path;
}

std::string MakeTempDir(const std::string& prefix) {
  std::string root = Getenv("PROPDESK_TEST_TMP");
  if (root.empty()) root = "/tmp";
  std::filesystem::create_directories(root);
  std::string tmpl = root + "/" + prefix + "-XXXXXX";
  if (mkdtemp(tmpl.data()) == nullptr) throw std::runtime_error("mkdtemp failed in " + root);
  return tmpl;
}

void RunHarness(const std::string& args) {
  const std::string cmd = Harness() + " " + args;
  if (std::system(cmd.c_str()) != 0) throw std::runtime_error("harness failed: " + cmd);
}

int ReadPort(const std::string& file) {
  std::ifstream in(file);
  int port = 0;
  in >> port;
  if (port <= 0) throw std::runtime_error("no port in " + file);
  return port;
}

common::MysqlOptions BaseOptions(int port) {
  common::MysqlOptions o;
  o.host = "127.0.0.1";
  o.port = port;
  o.user = "propdesk";
  o.password = "propdesk";
  return o;
}

}  // namespace

std::string UniqueSuffix() {
  static thread_local std::mt19937_64 rng(std::random_device{}() ^ ::getpid());
  static const char kAlphabet[] = "abcdefghijklmnopqrstuvwxyz0123456789";
  std::string out;
  for (int i = 0; i < 10; ++i) out += kAlphabet[rng() % (sizeof(kAlphabet) - 1)];
  return out;
}

common::MysqlOptions FreshDatabase(std::string_view prefix, int pool_size) {
  common::MysqlOptions options = BaseOptions(std::stoi(Value("PROPDESK_MYSQL_PORT")));
  options.host = Value("PROPDESK_MYSQL_HOST");
  options.user = Value("PROPDESK_MYSQL_USER");
  options.password = Value("PROPDESK_MYSQL_PASSWORD");
  const std::string name = std::string(prefix) + "_" + UniqueSuffix();
  {
    common::MysqlPool admin(options);
    admin.Acquire()->ExecuteRaw("CREATE DATABASE `" + name + "` CHARACTER SET utf8mb4");
  }
  options.database = name;
  options.pool_size = pool_size;
  return options;
}

common::RedisOptions SharedRedis(int pool_size) {
  common::RedisOptions o;
  o.host = Value("PROPDESK_REDIS_HOST");
  o.port = std::stoi(Value("PROPDESK_REDIS_PORT"));
  o.pool_size = pool_size;
  return o;
}

PrivateMariaDb::PrivateMariaDb() : dir_(MakeTempDir("mariadb")) {
  RunHarness("start-mariadb " + dir_);
  port_ = ReadPort(dir_ + "/mariadb/port");
}

PrivateMariaDb::~PrivateMariaDb() {
  std::system((Harness() + " stop-mariadb " + dir_ + " >/dev/null 2>&1").c_str());
  std::filesystem::remove_all(dir_);
}

void PrivateMariaDb::Stop() { RunHarness("stop-mariadb " + dir_); }
void PrivateMariaDb::Start() { RunHarness("start-mariadb " + dir_ + " " + std::to_string(port_)); }

common::MysqlOptions PrivateMariaDb::Options(std::string_view database, int pool_size) const {
  common::MysqlOptions o = BaseOptions(port_);
  if (!database.empty()) {
    common::MysqlPool admin(o);
    admin.Acquire()->ExecuteRaw("CREATE DATABASE IF NOT EXISTS `" + std::string(database) + "`");
  }
  o.database = std::string(database);
  o.pool_size = pool_size;
  return o;
}

PrivateRedis::PrivateRedis() : dir_(MakeTempDir("redis")) {
  RunHarness("start-redis " + dir_);
  port_ = ReadPort(dir_ + "/redis/port");
}

PrivateRedis::~PrivateRedis() {
  std::system((Harness() + " stop-redis " + dir_ + " >/dev/null 2>&1").c_str());
  std::filesystem::remove_all(dir_);
}

void PrivateRedis::Stop() { RunHarness("stop-redis " + dir_); }
void PrivateRedis::Start() { RunHarness("start-redis " + dir_ + " " + std::to_string(port_)); }

common::RedisOptions PrivateRedis::Options(int pool_size) const {
  common::RedisOptions o;
  o.host = "127.0.0.1";
  o.port = port_;
  o.pool_size = pool_size;
  return o;
}

}  // namespace propdesk::testing
