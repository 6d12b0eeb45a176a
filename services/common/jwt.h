#pragma once

// JWT verification (ARCHITECTURE.md §9): the gateway and every service verify
// the caller's token themselves and turn it into a Principal (principal.h).
// HS256 for development, RS256 for production; a verifier accepts exactly
// the one algorithm it is configured for, so an RS256 public key can never
// be used as an HMAC secret (algorithm confusion) and "alg":"none" never
// passes.
//
// Token claims:
//   sub    staff id                            required, non-empty string
//   grp    group id                            required, non-empty string
//   sites  granted site ids, "*" = all of grp  optional array of strings
//   roles  role names (principal.h)            required, non-empty array; an
//                                              unknown name rejects the token
//   aud    string or array of strings          must contain the configured audience
//   iss    string                              must equal the configured issuer, if any
//   exp    NumericDate                         required; expired when now >= exp + leeway
//   nbf    NumericDate                         optional; rejected while now + leeway < nbf
//   iat    NumericDate                         optional, informational

#include <chrono>
#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/principal.h"

namespace propdesk::common {

using Timestamp = std::chrono::system_clock::time_point;

struct JwtConfig {
  // Exactly one of the two: an HS256 secret of at least 32 bytes, or an RS256
  // public key (PEM "BEGIN PUBLIC KEY", RSA, at least 2048 bits).
  std::string hs256_secret{};
  std::string rs256_public_key_pem{};
  std::string audience{};           // required
  std::string issuer{};             // checked when non-empty
  std::chrono::seconds leeway{30};  // clock skew allowed on exp and nbf
  // Verified tokens remembered (0 = none); see JwtVerifier::Verify.
  size_t cache_capacity = 10000;
};

class JwtVerifier {
 public:
  // Throws Error(kInvalidArgument) for a bad config: both or neither key, a
  // secret shorter than 32 bytes, an unreadable or non-RSA or short public
  // key, an empty audience, a negative leeway.
  explicit JwtVerifier(JwtConfig config);
  // Copies share the (immutable) key.

  // Verifies signature and claims at time `now` and returns the caller.
  // Throws Error(kUnauthenticated, reason) with reason one of
  // MALFORMED_TOKEN, ALG_NONE, ALGORITHM_NOT_ALLOWED, UNSUPPORTED_HEADER
  // (a "crit" header), BAD_SIGNATURE, MISSING_EXPIRY, TOKEN_EXPIRED,
  // TOKEN_NOT_YET_VALID, WRONG_AUDIENCE, WRONG_ISSUER, MISSING_SUBJECT,
  // MISSING_GROUP, MISSING_ROLES, UNKNOWN_ROLE, BAD_CLAIM (a claim of the
  // wrong type). Thread-safe.
  //
  // A client sends the same token with every call, and parsing its JSON was
  // the largest CPU cost of a call, so a token that verified is remembered
  // (keyed by all its bytes, signature included) and answered from memory
  // from the time it verified until its `exp`; after that every use is
  // verified again, which applies the leeway and then rejects it. Failures
  // are never remembered. At `cache_capacity` entries the memory is emptied
  // (bounded and simple: tokens are verified once more).
  Principal Verify(std::string_view token, Timestamp now) const;

  const JwtConfig& config() const { return config_; }
  // Tokens remembered right now (for tests).
  size_t cached_tokens() const;

 private:
  struct Key;
  class Cache;
  Principal VerifyUncached(std::string_view token, Timestamp now, Timestamp* expires_at) const;

  JwtConfig config_;
  std::shared_ptr<const Key> rs256_key_;  // set when configured for RS256
  std::shared_ptr<Cache> cache_;          // shared by copies; null when capacity is 0
};

struct JwtClaims {
  std::string subject{};
  std::string group{};
  std::string issuer{};    // omitted when empty
  std::string audience{};  // omitted when empty
  std::vector<std::string> sites{};
  std::vector<std::string> roles{};
  Timestamp issued_at{};  // omitted when the epoch (default)
  Timestamp expires_at{};
  std::optional<Timestamp> not_before{};
};

// Signed compact tokens, for tests and `make run` demo tokens. Times are
// written as whole seconds (rounded down). Throw Error(kInvalidArgument) for
// a secret shorter than 32 bytes or an unreadable private key.
std::string SignJwtHs256(const JwtClaims& claims, std::string_view secret);
std::string SignJwtRs256(const JwtClaims& claims, std::string_view private_key_pem);

// base64url without padding (RFC 7515 §2), exposed for tests.
std::string Base64UrlEncode(std::string_view bytes);
// nullopt for characters outside the alphabet, padding, or a bad length.
std::optional<std::string> Base64UrlDecode(std::string_view text);

}  // namespace propdesk::common
