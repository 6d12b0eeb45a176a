#include "bench/support/process.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>

namespace propdesk::bench {
namespace {

std::string TempLog(const std::string& name) {
  const std::string path = ::testing::TempDir() + "/process_test-" + name + ".log";
  std::remove(path.c_str());
  return path;
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

ChildProcess::Options Shell(const std::string& script, const std::string& log, bool pipe) {
  return {
      .binary = "/bin/sh", .args = {"-c", script}, .env = {}, .log_path = log, .pipe_stdout = pipe};
}

TEST(ChildProcessTest, ReadsLinesTheChildPrintsAndStopsIt) {
  ChildProcess child(Shell("echo first; echo second; exec sleep 60", TempLog("lines"), true));
  EXPECT_EQ(child.ReadLine(std::chrono::seconds(10)), "first");
  EXPECT_EQ(child.ReadLine(std::chrono::seconds(10)), "second");
  EXPECT_TRUE(child.Running());
  const pid_t pid = child.pid();
  child.Stop();
  EXPECT_FALSE(child.Running());
  EXPECT_NE(::kill(pid, 0), 0) << "the child is still there after Stop()";
}

TEST(ChildProcessTest, EnvironmentOverridesReplaceAndAdd) {
  ::setenv("PROCESS_TEST_REPLACED", "parent", 1);
  ::setenv("PROCESS_TEST_KEPT", "kept", 1);
  ChildProcess::Options options = Shell(
      "echo $PROCESS_TEST_REPLACED-$PROCESS_TEST_KEPT-$PROCESS_TEST_ADDED", TempLog("env"), true);
  options.env = {{"PROCESS_TEST_REPLACED", "child"}, {"PROCESS_TEST_ADDED", "added"}};
  ChildProcess child(options);
  EXPECT_EQ(child.ReadLine(std::chrono::seconds(10)), "child-kept-added");
}

TEST(ChildProcessTest, StdoutAndStderrGoToTheLogWithoutAPipe) {
  const std::string log = TempLog("log");
  {
    ChildProcess child(Shell("echo to-stdout; echo to-stderr >&2", log, false));
    for (int i = 0; i < 500 && child.Running(); ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    EXPECT_FALSE(child.Running());
  }
  EXPECT_EQ(ReadFile(log), "to-stdout\nto-stderr\n");
}

TEST(ChildProcessTest, ReadLineFailsWhenTheChildClosesStdoutOrIsSilent) {
  ChildProcess silent(Shell("exec sleep 60", TempLog("silent"), true));
  EXPECT_THROW(silent.ReadLine(std::chrono::milliseconds(200)), std::runtime_error);
  ChildProcess done(Shell("true", TempLog("done"), true));
  EXPECT_THROW(done.ReadLine(std::chrono::seconds(10)), std::runtime_error);
}

TEST(ChildProcessTest, ChildIgnoringSigtermIsKilledAfterTheGrace) {
  ChildProcess child(
      Shell("trap '' TERM; echo ready; while :; do sleep 0.05; done", TempLog("stubborn"), true));
  ASSERT_EQ(child.ReadLine(std::chrono::seconds(10)), "ready");
  const auto start = std::chrono::steady_clock::now();
  child.Stop(std::chrono::milliseconds(300));
  EXPECT_FALSE(child.Running());
  EXPECT_GE(std::chrono::steady_clock::now() - start, std::chrono::milliseconds(300));
}

TEST(ChildProcessTest, MissingBinaryExitsAtOnceAndABadLogPathThrows) {
  ChildProcess missing({.binary = "/nonexistent/propdesk-binary",
                        .args = {},
                        .env = {},
                        .log_path = TempLog("missing"),
                        .pipe_stdout = false});
  for (int i = 0; i < 500 && missing.Running(); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_FALSE(missing.Running());
  EXPECT_THROW(ChildProcess(Shell("true", "/nonexistent-dir/x.log", false)), std::runtime_error);
}

TEST(ChildProcessTest, WaitUntilReturnsWhenReadyAndThrowsOnExitOrTimeout) {
  ChildProcess child(Shell("exec sleep 60", TempLog("wait"), false));
  int polls = 0;
  child.WaitUntil(
      [&] {
        if (++polls < 3) throw std::runtime_error("not listening yet");
        return polls >= 4;
      },
      "ready");
  EXPECT_EQ(polls, 4);
  EXPECT_THROW(child.WaitUntil([] { return false; }, "never", std::chrono::milliseconds(150)),
               std::runtime_error);
  ChildProcess exits(Shell("exit 3", TempLog("exits"), false));
  try {
    exits.WaitUntil([] { return false; }, "serving", std::chrono::seconds(30));
    ADD_FAILURE() << "WaitUntil returned for a child that exited";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("exited"), std::string::npos) << e.what();
  }
}

TEST(FreeLoopbackPortTest, ReturnsABindablePort) {
  const int port = FreeLoopbackPort();
  ASSERT_GT(port, 0);
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  address.sin_port = htons(static_cast<uint16_t>(port));
  EXPECT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address), 0);
  ::close(fd);
}

}  // namespace
}  // namespace propdesk::bench
