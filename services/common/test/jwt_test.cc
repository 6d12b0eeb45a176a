// JWT verification (ARCHITECTURE.md §9, rule C-1's "who is calling"): the
// happy paths for HS256 and RS256, and one test per way a token is rejected.
// Hostile tokens are assembled by hand here (own HMAC via OpenSSL), so the
// rejection tests do not depend on the code's own signer.

#include "common/jwt.h"

#include <gtest/gtest.h>
#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>

#include <atomic>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "common/errors.h"

namespace propdesk::common {
namespace {

using std::chrono::seconds;

const std::string kSecret = "0123456789abcdef0123456789abcdef-dev";  // 36 bytes
constexpr char kAudience[] = "propdesk";
constexpr char kIssuer[] = "https://sso.example.com";

// 2024-02-14T02:00:00Z; tokens in these tests live 1 h from an hour before.
const Timestamp kNow = Timestamp{} + seconds{1707876000};

std::string ToJwtTime(Timestamp t) {
  return std::to_string(std::chrono::duration_cast<seconds>(t.time_since_epoch()).count());
}

JwtClaims FrontDeskClaims() {
  JwtClaims claims;
  claims.subject = "staff-42";
  claims.group = "grp-vanke";
  claims.issuer = kIssuer;
  claims.audience = kAudience;
  claims.sites = {"sz01", "sz02"};
  claims.roles = {"front_desk", "supervisor"};
  claims.issued_at = kNow - std::chrono::hours{1};
  claims.expires_at = kNow + std::chrono::hours{1};
  return claims;
}

// A token with exactly this header and payload, HMAC-signed with `secret`.
std::string HandMadeHs256(const std::string& header_json, const std::string& payload_json,
                          const std::string& secret = kSecret) {
  const std::string input = Base64UrlEncode(header_json) + "." + Base64UrlEncode(payload_json);
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  HMAC(EVP_sha256(), secret.data(), static_cast<int>(secret.size()),
       reinterpret_cast<const unsigned char*>(input.data()), input.size(), mac, &length);
  return input + "." + Base64UrlEncode(std::string(reinterpret_cast<char*>(mac), length));
}

const std::string kHs256Header = R"({"alg":"HS256","typ":"JWT"})";

// A payload with every required claim valid, with `changes` applied: each
// maps a claim to its raw JSON value, or to "" to leave the claim out.
std::string Payload(const std::map<std::string, std::string>& changes = {}) {
  std::map<std::string, std::string> claims = {
      {"sub", R"("staff-42")"},
      {"grp", R"("grp-vanke")"},
      {"sites", R"(["sz01"])"},
      {"roles", R"(["front_desk"])"},
      {"aud", R"("propdesk")"},
      {"iss", R"("https://sso.example.com")"},
      {"exp", ToJwtTime(kNow + std::chrono::hours{1})},
  };
  for (const auto& [name, value] : changes) claims[name] = value;
  std::string out = "{";
  for (const auto& [name, value] : claims) {
    if (value.empty()) continue;
    if (out.size() > 1) out += ",";
    out += "\"" + name + "\":" + value;
  }
  return out + "}";
}

struct RsaKeys {
  std::string private_pem;
  std::string public_pem;
};

RsaKeys GenerateRsa(unsigned bits) {
  EVP_PKEY* key = EVP_RSA_gen(bits);
  RsaKeys out;
  BIO* priv = BIO_new(BIO_s_mem());
  BIO* pub = BIO_new(BIO_s_mem());
  PEM_write_bio_PrivateKey(priv, key, nullptr, nullptr, 0, nullptr, nullptr);
  PEM_write_bio_PUBKEY(pub, key);
  char* data = nullptr;
  long size = BIO_get_mem_data(priv, &data);
  out.private_pem.assign(data, static_cast<size_t>(size));
  size = BIO_get_mem_data(pub, &data);
  out.public_pem.assign(data, static_cast<size_t>(size));
  BIO_free(priv);
  BIO_free(pub);
  EVP_PKEY_free(key);
  return out;
}

const RsaKeys& Rsa() {
  static const RsaKeys keys = GenerateRsa(2048);
  return keys;
}

JwtVerifier HsVerifier() {
  return JwtVerifier(JwtConfig{.hs256_secret = kSecret, .audience = kAudience, .issuer = kIssuer});
}

JwtVerifier RsVerifier() {
  return JwtVerifier(JwtConfig{
      .rs256_public_key_pem = Rsa().public_pem, .audience = kAudience, .issuer = kIssuer});
}

void ExpectRejected(const JwtVerifier& verifier, const std::string& token,
                    const std::string& reason, Timestamp now = kNow) {
  try {
    verifier.Verify(token, now);
    FAIL() << "accepted a token that should fail with " << reason;
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::kUnauthenticated) << e.what();
    EXPECT_EQ(e.reason(), reason) << e.what();
  }
}

// --- happy paths -------------------------------------------------------------

TEST(Jwt, Hs256TokenYieldsThePrincipal) {
  const Principal p = HsVerifier().Verify(SignJwtHs256(FrontDeskClaims(), kSecret), kNow);
  EXPECT_EQ(p.staff_id, "staff-42");
  EXPECT_EQ(p.group_id, "grp-vanke");
  EXPECT_EQ(p.sites, (std::vector<std::string>{"sz01", "sz02"}));
  EXPECT_EQ(p.roles, (std::vector<Role>{Role::kFrontDesk, Role::kSupervisor}));
}

TEST(Jwt, Rs256TokenYieldsThePrincipal) {
  JwtClaims claims = FrontDeskClaims();
  claims.sites = {"*"};
  claims.roles = {"auditor"};
  const Principal p = RsVerifier().Verify(SignJwtRs256(claims, Rsa().private_pem), kNow);
  EXPECT_EQ(p.staff_id, "staff-42");
  EXPECT_EQ(p.sites, std::vector<std::string>{"*"});
  EXPECT_EQ(p.roles, std::vector<Role>{Role::kAuditor});
}

TEST(Jwt, HandMadeTokenWithAudienceArrayAndNoIssuerCheck) {
  // Fractional NumericDates and an aud array are valid JWT.
  const std::string token =
      HandMadeHs256(kHs256Header, Payload({{"sub", R"("s1")"},
                                           {"grp", R"("g1")"},
                                           {"sites", ""},
                                           {"iss", ""},
                                           {"roles", R"(["engineer"])"},
                                           {"aud", R"(["other","propdesk"])"},
                                           {"nbf", ToJwtTime(kNow) + ".5"},
                                           {"exp", ToJwtTime(kNow + seconds{60}) + ".25"}}));
  const JwtVerifier no_issuer(JwtConfig{.hs256_secret = kSecret, .audience = kAudience});
  const Principal p = no_issuer.Verify(token, kNow);
  EXPECT_EQ(p.staff_id, "s1");
  EXPECT_TRUE(p.sites.empty());
  EXPECT_EQ(p.roles, std::vector<Role>{Role::kEngineer});
}

TEST(Jwt, LeewayToleratesSmallClockSkew) {
  JwtClaims claims = FrontDeskClaims();
  claims.expires_at = kNow - seconds{29};
  claims.not_before = kNow + seconds{29};
  EXPECT_NO_THROW(HsVerifier().Verify(SignJwtHs256(claims, kSecret), kNow));
}

TEST(Jwt, VerifiesConcurrently) {
  const JwtVerifier verifier = RsVerifier();
  const std::string token = SignJwtRs256(FrontDeskClaims(), Rsa().private_pem);
  const std::string forged = token.substr(0, token.size() - 4) + "AAAA";
  std::atomic<int> accepted{0}, rejected{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 50; ++i) {
        if (verifier.Verify(token, kNow).staff_id == "staff-42") ++accepted;
        try {
          verifier.Verify(forged, kNow);
        } catch (const Error& e) {
          if (e.reason() == "BAD_SIGNATURE") ++rejected;
        }
      }
    });
  }
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(accepted.load(), 400);
  EXPECT_EQ(rejected.load(), 400);
}

TEST(Jwt, HandMadeBaselineIsAccepted) {
  // The control for the rejection tests below: unchanged, a hand-made token passes.
  EXPECT_EQ(HsVerifier().Verify(HandMadeHs256(kHs256Header, Payload()), kNow).staff_id, "staff-42");
}

// --- rejections: one test per reason ------------------------------------------

TEST(JwtRejects, Empty) { ExpectRejected(HsVerifier(), "", "MALFORMED_TOKEN"); }

TEST(JwtRejects, NotThreeParts) {
  const std::string token = SignJwtHs256(FrontDeskClaims(), kSecret);
  ExpectRejected(HsVerifier(), token.substr(0, token.rfind('.')), "MALFORMED_TOKEN");
  ExpectRejected(HsVerifier(), token + ".extra", "MALFORMED_TOKEN");
  ExpectRejected(HsVerifier(), "Bearer", "MALFORMED_TOKEN");
}

TEST(JwtRejects, NotBase64Url) {
  const std::string token = SignJwtHs256(FrontDeskClaims(), kSecret);
  ExpectRejected(HsVerifier(), "eyJ+bad/." + token.substr(token.find('.') + 1), "MALFORMED_TOKEN");
  // Standard base64 padding is not base64url.
  ExpectRejected(HsVerifier(), token + "=", "MALFORMED_TOKEN");
}

TEST(JwtRejects, HeaderNotJson) {
  ExpectRejected(HsVerifier(), HandMadeHs256("not json", Payload()), "MALFORMED_TOKEN");
  ExpectRejected(HsVerifier(), HandMadeHs256(R"(["HS256"])", Payload()), "MALFORMED_TOKEN");
}

TEST(JwtRejects, ClaimsNotJsonEvenWhenSigned) {
  ExpectRejected(HsVerifier(), HandMadeHs256(kHs256Header, "{\"sub\":"), "MALFORMED_TOKEN");
}

TEST(JwtRejects, TooLong) {
  ExpectRejected(
      HsVerifier(),
      HandMadeHs256(kHs256Header, Payload({{"pad", "\"" + std::string(20000, 'x') + "\""}})),
      "MALFORMED_TOKEN");
}

TEST(JwtRejects, AlgNone) {
  const std::string unsigned_token =
      Base64UrlEncode(R"({"alg":"none","typ":"JWT"})") + "." + Base64UrlEncode(Payload()) + ".";
  ExpectRejected(HsVerifier(), unsigned_token, "ALG_NONE");
  ExpectRejected(RsVerifier(), unsigned_token, "ALG_NONE");
  // Even "signed" with our secret.
  ExpectRejected(HsVerifier(), HandMadeHs256(R"({"alg":"none"})", Payload()), "ALG_NONE");
  ExpectRejected(HsVerifier(), HandMadeHs256(R"({"alg":"NONE"})", Payload()), "ALG_NONE");
  ExpectRejected(HsVerifier(), HandMadeHs256(R"({"alg":"nOnE"})", Payload()), "ALG_NONE");
}

TEST(JwtRejects, MissingAlg) {
  ExpectRejected(HsVerifier(), HandMadeHs256(R"({"typ":"JWT"})", Payload()), "MALFORMED_TOKEN");
}

TEST(JwtRejects, OtherHmacAlgorithm) {
  ExpectRejected(HsVerifier(), HandMadeHs256(R"({"alg":"HS512"})", Payload()),
                 "ALGORITHM_NOT_ALLOWED");
}

TEST(JwtRejects, HsTokenSignedWithThePublicKeyAgainstAnRsVerifier) {
  // The classic algorithm-confusion attack: HMAC with the RSA public key as
  // the secret, hoping the verifier uses "the key" for whatever alg says.
  const std::string token = HandMadeHs256(kHs256Header, Payload(), Rsa().public_pem);
  ExpectRejected(RsVerifier(), token, "ALGORITHM_NOT_ALLOWED");
}

TEST(JwtRejects, RsTokenAgainstAnHsVerifier) {
  ExpectRejected(HsVerifier(), SignJwtRs256(FrontDeskClaims(), Rsa().private_pem),
                 "ALGORITHM_NOT_ALLOWED");
}

TEST(JwtRejects, CriticalHeaderExtension) {
  ExpectRejected(HsVerifier(), HandMadeHs256(R"({"alg":"HS256","crit":["exp"]})", Payload()),
                 "UNSUPPORTED_HEADER");
}

TEST(JwtRejects, BadSignatureFromAnotherSecret) {
  ExpectRejected(HsVerifier(), SignJwtHs256(FrontDeskClaims(), kSecret + "-other"),
                 "BAD_SIGNATURE");
}

TEST(JwtRejects, BadSignatureAfterTamperingWithClaims) {
  // Swap in claims granting every site, keep the original signature.
  const std::string token = SignJwtHs256(FrontDeskClaims(), kSecret);
  JwtClaims escalated = FrontDeskClaims();
  escalated.sites = {"*"};
  escalated.roles = {"group_admin"};
  const std::string forged_input = SignJwtHs256(escalated, kSecret);
  const std::string forged =
      forged_input.substr(0, forged_input.rfind('.')) + token.substr(token.rfind('.'));
  ExpectRejected(HsVerifier(), forged, "BAD_SIGNATURE");
}

TEST(JwtRejects, BadRs256Signature) {
  const RsaKeys other = GenerateRsa(2048);
  ExpectRejected(RsVerifier(), SignJwtRs256(FrontDeskClaims(), other.private_pem), "BAD_SIGNATURE");
}

TEST(JwtRejects, EmptySignature) {
  const std::string token = SignJwtHs256(FrontDeskClaims(), kSecret);
  ExpectRejected(HsVerifier(), token.substr(0, token.rfind('.') + 1), "MALFORMED_TOKEN");
}

TEST(JwtRejects, Expired) {
  JwtClaims claims = FrontDeskClaims();
  claims.expires_at = kNow - seconds{30};  // exactly at the leeway's edge
  ExpectRejected(HsVerifier(), SignJwtHs256(claims, kSecret), "TOKEN_EXPIRED");
  // And a token fine now is expired an hour and a half later.
  ExpectRejected(HsVerifier(), SignJwtHs256(FrontDeskClaims(), kSecret), "TOKEN_EXPIRED",
                 kNow + std::chrono::minutes{90});
}

TEST(JwtRejects, MissingExpiry) {
  ExpectRejected(HsVerifier(), HandMadeHs256(kHs256Header, Payload({{"exp", ""}})),
                 "MISSING_EXPIRY");
}

TEST(JwtRejects, NotYetValid) {
  JwtClaims claims = FrontDeskClaims();
  claims.not_before = kNow + seconds{31};
  ExpectRejected(HsVerifier(), SignJwtHs256(claims, kSecret), "TOKEN_NOT_YET_VALID");
}

TEST(JwtRejects, WrongAudience) {
  JwtClaims claims = FrontDeskClaims();
  claims.audience = "billing-portal";
  ExpectRejected(HsVerifier(), SignJwtHs256(claims, kSecret), "WRONG_AUDIENCE");
  ExpectRejected(HsVerifier(), HandMadeHs256(kHs256Header, Payload({{"aud", R"(["a","b"])"}})),
                 "WRONG_AUDIENCE");
}

TEST(JwtRejects, MissingAudience) {
  JwtClaims claims = FrontDeskClaims();
  claims.audience.clear();
  ExpectRejected(HsVerifier(), SignJwtHs256(claims, kSecret), "WRONG_AUDIENCE");
}

TEST(JwtRejects, WrongIssuer) {
  JwtClaims claims = FrontDeskClaims();
  claims.issuer = "https://evil.example.com";
  ExpectRejected(HsVerifier(), SignJwtHs256(claims, kSecret), "WRONG_ISSUER");
  claims.issuer.clear();
  ExpectRejected(HsVerifier(), SignJwtHs256(claims, kSecret), "WRONG_ISSUER");
}

TEST(JwtRejects, MissingSubject) {
  JwtClaims claims = FrontDeskClaims();
  claims.subject.clear();
  ExpectRejected(HsVerifier(), SignJwtHs256(claims, kSecret), "MISSING_SUBJECT");
}

TEST(JwtRejects, MissingGroup) {
  JwtClaims claims = FrontDeskClaims();
  claims.group.clear();
  ExpectRejected(HsVerifier(), SignJwtHs256(claims, kSecret), "MISSING_GROUP");
}

TEST(JwtRejects, UnknownRole) {
  JwtClaims claims = FrontDeskClaims();
  claims.roles = {"front_desk", "superuser"};
  ExpectRejected(HsVerifier(), SignJwtHs256(claims, kSecret), "UNKNOWN_ROLE");
}

TEST(JwtRejects, MissingRoles) {
  JwtClaims claims = FrontDeskClaims();
  claims.roles.clear();
  ExpectRejected(HsVerifier(), SignJwtHs256(claims, kSecret), "MISSING_ROLES");
}

TEST(JwtRejects, ClaimOfTheWrongType) {
  ExpectRejected(HsVerifier(), HandMadeHs256(kHs256Header, Payload({{"sites", R"("sz01")"}})),
                 "BAD_CLAIM");
  ExpectRejected(HsVerifier(), HandMadeHs256(kHs256Header, Payload({{"roles", "[1]"}})),
                 "BAD_CLAIM");
  ExpectRejected(HsVerifier(), HandMadeHs256(kHs256Header, Payload({{"exp", R"("tomorrow")"}})),
                 "BAD_CLAIM");
  ExpectRejected(HsVerifier(), HandMadeHs256(kHs256Header, Payload({{"sub", "7"}})), "BAD_CLAIM");
}

// --- configuration ------------------------------------------------------------

void ExpectBadConfig(JwtConfig config, const std::string& field) {
  try {
    JwtVerifier verifier(std::move(config));
    FAIL() << "accepted a bad config (" << field << ")";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::kInvalidArgument);
    EXPECT_NE(std::string(e.what()).find(field), std::string::npos) << e.what();
  }
}

TEST(JwtConfigCheck, RejectsBothOrNeitherKey) {
  ExpectBadConfig({.audience = kAudience}, "exactly one");
  ExpectBadConfig(
      {.hs256_secret = kSecret, .rs256_public_key_pem = Rsa().public_pem, .audience = kAudience},
      "exactly one");
}

TEST(JwtConfigCheck, RejectsShortSecret) {
  ExpectBadConfig({.hs256_secret = std::string(31, 'k'), .audience = kAudience}, "32 bytes");
}

TEST(JwtConfigCheck, RejectsUnreadableOrWrongKey) {
  ExpectBadConfig(
      {.rs256_public_key_pem = "-----BEGIN PUBLIC KEY-----\nnope\n-----END PUBLIC KEY-----\n",
       .audience = kAudience},
      "rs256_public_key_pem");
  ExpectBadConfig({.rs256_public_key_pem = Rsa().private_pem, .audience = kAudience},
                  "rs256_public_key_pem");
  ExpectBadConfig({.rs256_public_key_pem = GenerateRsa(1024).public_pem, .audience = kAudience},
                  "2048");
}

TEST(JwtConfigCheck, RejectsMissingAudienceAndNegativeLeeway) {
  ExpectBadConfig({.hs256_secret = kSecret}, "audience");
  ExpectBadConfig({.hs256_secret = kSecret, .audience = kAudience, .leeway = seconds{-1}},
                  "leeway");
}

TEST(JwtConfigCheck, SignerRejectsShortSecretAndBadKey) {
  EXPECT_THROW(SignJwtHs256(FrontDeskClaims(), "short"), Error);
  EXPECT_THROW(SignJwtRs256(FrontDeskClaims(), Rsa().public_pem), Error);
}

// --- remembered tokens ---------------------------------------------------------

TEST(JwtCache, RemembersAVerifiedTokenUntilItsExpiryThenAppliesTheLeeway) {
  const JwtVerifier verifier = HsVerifier();
  const std::string token = SignJwtHs256(FrontDeskClaims(), kSecret);  // exp = kNow + 1h
  EXPECT_EQ(verifier.Verify(token, kNow).staff_id, "staff-42");
  EXPECT_EQ(verifier.cached_tokens(), 1u);
  EXPECT_EQ(verifier.Verify(token, kNow + std::chrono::minutes{59}).group_id, "grp-vanke");
  // Past exp the full check decides again: within the 30 s leeway, then expired.
  EXPECT_NO_THROW(verifier.Verify(token, kNow + std::chrono::hours{1} + seconds{20}));
  ExpectRejected(verifier, token, "TOKEN_EXPIRED", kNow + std::chrono::hours{1} + seconds{31});
}

TEST(JwtCache, OnlyTheIdenticalTokenHitsAndFailuresAreNotRemembered) {
  const JwtVerifier verifier = HsVerifier();
  const std::string token = SignJwtHs256(FrontDeskClaims(), kSecret);
  verifier.Verify(token, kNow);
  std::string tampered = token;
  tampered[tampered.size() - 2] = tampered[tampered.size() - 2] == 'a' ? 'b' : 'a';
  ExpectRejected(verifier, tampered, "BAD_SIGNATURE");
  ExpectRejected(verifier, tampered, "BAD_SIGNATURE");
  EXPECT_EQ(verifier.cached_tokens(), 1u);
}

TEST(JwtCache, AnEarlierClockIsNotAnsweredFromMemory) {
  const JwtVerifier verifier = HsVerifier();
  JwtClaims claims = FrontDeskClaims();
  claims.not_before = kNow;
  const std::string token = SignJwtHs256(claims, kSecret);
  verifier.Verify(token, kNow);
  ExpectRejected(verifier, token, "TOKEN_NOT_YET_VALID", kNow - std::chrono::minutes{5});
}

TEST(JwtCache, StaysWithinItsCapacityAndCanBeTurnedOff) {
  const JwtVerifier small(
      JwtConfig{.hs256_secret = kSecret, .audience = kAudience, .cache_capacity = 3});
  const JwtVerifier none(
      JwtConfig{.hs256_secret = kSecret, .audience = kAudience, .cache_capacity = 0});
  for (int i = 0; i < 10; ++i) {
    JwtClaims claims = FrontDeskClaims();
    claims.subject = "staff-" + std::to_string(i);
    const std::string token = SignJwtHs256(claims, kSecret);
    EXPECT_EQ(small.Verify(token, kNow).staff_id, claims.subject);
    EXPECT_EQ(none.Verify(token, kNow).staff_id, claims.subject);
  }
  EXPECT_LE(small.cached_tokens(), 3u);
  EXPECT_EQ(none.cached_tokens(), 0u);
}

// --- base64url ----------------------------------------------------------------

TEST(Base64Url, KnownVectorsWithoutPadding) {
  // RFC 4648 §10 vectors, unpadded.
  EXPECT_EQ(Base64UrlEncode(""), "");
  EXPECT_EQ(Base64UrlEncode("f"), "Zg");
  EXPECT_EQ(Base64UrlEncode("fo"), "Zm8");
  EXPECT_EQ(Base64UrlEncode("foo"), "Zm9v");
  EXPECT_EQ(Base64UrlEncode("foobar"), "Zm9vYmFy");
  // The URL-safe alphabet: 0xfb 0xff → "-_8".
  EXPECT_EQ(Base64UrlEncode("\xfb\xff"), "-_8");
  EXPECT_EQ(Base64UrlDecode("-_8"), std::string("\xfb\xff"));
  EXPECT_EQ(Base64UrlDecode("Zm9vYmE"), std::string("fooba"));
}

TEST(Base64Url, RejectsPaddingForeignCharactersAndBadLengths) {
  EXPECT_EQ(Base64UrlDecode("Zg=="), std::nullopt);
  EXPECT_EQ(Base64UrlDecode("+/8"), std::nullopt);
  EXPECT_EQ(Base64UrlDecode("Z"), std::nullopt);
  EXPECT_EQ(Base64UrlDecode("Zh"), std::nullopt);  // non-zero trailing bits
}

}  // namespace
}  // namespace propdesk::common
