#pragma once

// What integration tests need from the harness (tests/harness/servers.sh):
// the shared MariaDB and Redis of this ctest run, a fresh database per test,
// unique Redis key prefixes, and private server instances for tests that stop
// or restart a server (so they never disturb tests running in parallel).

#include <memory>
#include <string>
#include <string_view>

#include "common/mysql.h"
#include "common/redis.h"

namespace propdesk::testing {

// Options for a database created for this test alone (`<prefix>_<random>`),
// on the shared MariaDB. Fails the test (ADD_FAILURE + throw) when the harness
// did not run, with a message saying to run the test through ctest.
common::MysqlOptions FreshDatabase(std::string_view prefix, int pool_size = 8);

// The shared Redis of this run.
common::RedisOptions SharedRedis(int pool_size = 8);

// A random string to namespace Redis keys and names within one test.
std::string UniqueSuffix();

// A MariaDB of its own (own datadir and port), for restart tests.
class PrivateMariaDb {
 public:
  PrivateMariaDb();  // installs and starts it (a few seconds)
  ~PrivateMariaDb();
  void Stop();
  void Start();
  int port() const { return port_; }
  common::MysqlOptions Options(std::string_view database, int pool_size = 4) const;

 private:
  std::string dir_;
  int port_ = 0;
};

// A Redis of its own, for tests that take Redis down.
class PrivateRedis {
 public:
  PrivateRedis();
  ~PrivateRedis();
  void Stop();
  void Start();
  int port() const { return port_; }
  common::RedisOptions Options(int pool_size = 4) const;

 private:
  std::string dir_;
  int port_ = 0;
};

}  // namespace propdesk::testing
