#include "gateway/token_cache.h"

#include <gtest/gtest.h>

#include "common/errors.h"

namespace propdesk::gateway {
namespace {

using namespace std::chrono_literals;

constexpr char kSecret[] = "token-cache-test-secret-0123456789abcdef";

common::JwtVerifier Verifier() {
  common::JwtConfig config;
  config.hs256_secret = kSecret;
  config.audience = "propdesk";
  config.leeway = 30s;
  return common::JwtVerifier(config);
}

std::string Token(common::Timestamp now, std::chrono::seconds lifetime,
                  std::string subject = "s-1") {
  common::JwtClaims claims;
  claims.subject = std::move(subject);
  claims.group = "g1";
  claims.sites = {"s1"};
  claims.roles = {"front_desk"};
  claims.audience = "propdesk";
  claims.expires_at = now + lifetime;
  return common::SignJwtHs256(claims, kSecret);
}

std::string ReasonOf(VerifiedTokenCache& cache, const std::string& token, common::Timestamp now) {
  try {
    cache.Verify(token, now);
  } catch (const common::Error& e) {
    return e.reason();
  }
  return "OK";
}

const common::Timestamp kNow = common::Timestamp(std::chrono::seconds(1700000000));

TEST(VerifiedTokenCache, RemembersAVerifiedTokenUntilItsExpiry) {
  const common::JwtVerifier verifier = Verifier();
  VerifiedTokenCache cache(&verifier);
  const std::string token = Token(kNow, 60s);
  EXPECT_EQ(cache.Verify(token, kNow).staff_id, "s-1");
  EXPECT_EQ(cache.size(), 1u);
  EXPECT_EQ(cache.Verify(token, kNow + 59s).group_id, "g1");
  // Past exp the verifier decides again: within the leeway still fine, then expired.
  EXPECT_EQ(ReasonOf(cache, token, kNow + 80s), "OK");
  EXPECT_EQ(ReasonOf(cache, token, kNow + 91s), "TOKEN_EXPIRED");
}

TEST(VerifiedTokenCache, OnlyTheIdenticalTokenHitsAndFailuresAreNotCached) {
  const common::JwtVerifier verifier = Verifier();
  VerifiedTokenCache cache(&verifier);
  const std::string token = Token(kNow, 60s);
  cache.Verify(token, kNow);
  std::string tampered = token;
  tampered[tampered.size() - 2] = tampered[tampered.size() - 2] == 'a' ? 'b' : 'a';
  EXPECT_EQ(ReasonOf(cache, tampered, kNow), "BAD_SIGNATURE");
  EXPECT_EQ(ReasonOf(cache, tampered, kNow), "BAD_SIGNATURE");
  EXPECT_EQ(cache.size(), 1u);
}

TEST(VerifiedTokenCache, StaysWithinItsCapacity) {
  const common::JwtVerifier verifier = Verifier();
  VerifiedTokenCache cache(&verifier, /*capacity=*/3);
  for (int i = 0; i < 10; ++i) cache.Verify(Token(kNow, 60s, "s-" + std::to_string(i)), kNow);
  EXPECT_LE(cache.size(), 3u);
}

TEST(VerifiedTokenCache, ReadsTheExpiryClaim) {
  EXPECT_EQ(JwtExpiry(Token(kNow, 60s)), kNow + 60s);
  EXPECT_EQ(JwtExpiry("a.b"), std::nullopt);
  EXPECT_EQ(JwtExpiry("a.!!.c"), std::nullopt);
}

}  // namespace
}  // namespace propdesk::gateway
