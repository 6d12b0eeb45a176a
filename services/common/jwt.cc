#include "common/jwt.h"

#include <google/protobuf/struct.pb.h>
#include <google/protobuf/util/json_util.h>
#include <openssl/bio.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <mutex>
#include <unordered_map>
#include <utility>

#include "common/errors.h"

namespace propdesk::common {

namespace {

using google::protobuf::Struct;
using google::protobuf::Value;

constexpr size_t kMinSecretBytes = 32;
constexpr int kMinRsaBits = 2048;
// Far above any real token (a few hundred bytes) and small enough that a
// hostile header cannot make us parse megabytes.
constexpr size_t kMaxTokenBytes = 16 * 1024;
// NumericDates beyond this (year ~5138) are nonsense, and would overflow
// system_clock's nanoseconds.
constexpr double kMaxNumericDate = 1e11;

constexpr std::string_view kBase64UrlAlphabet =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

// --- OpenSSL plumbing -------------------------------------------------------

struct PkeyDeleter {
  void operator()(EVP_PKEY* key) const { EVP_PKEY_free(key); }
};
struct BioDeleter {
  void operator()(BIO* bio) const { BIO_free(bio); }
};
struct MdCtxDeleter {
  void operator()(EVP_MD_CTX* ctx) const { EVP_MD_CTX_free(ctx); }
};
using PkeyPtr = std::unique_ptr<EVP_PKEY, PkeyDeleter>;
using BioPtr = std::unique_ptr<BIO, BioDeleter>;
using MdCtxPtr = std::unique_ptr<EVP_MD_CTX, MdCtxDeleter>;

// Reads a PEM key with `read`; clears OpenSSL's thread-local error queue
// either way so that a failure here never shows up in someone else's check.
template <typename ReadFn>
PkeyPtr ReadPem(std::string_view pem, ReadFn read) {
  BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  PkeyPtr key(bio ? read(bio.get()) : nullptr);
  ERR_clear_error();
  return key;
}

PkeyPtr ReadRsaKey(std::string_view pem, bool is_private, const std::string& field) {
  PkeyPtr key =
      is_private
          ? ReadPem(pem,
                    [](BIO* b) { return PEM_read_bio_PrivateKey(b, nullptr, nullptr, nullptr); })
          : ReadPem(pem, [](BIO* b) { return PEM_read_bio_PUBKEY(b, nullptr, nullptr, nullptr); });
  const char* expected =
      is_private ? "a PEM private key" : "a PEM public key (-----BEGIN PUBLIC KEY-----)";
  if (!key) throw InvalidArgument(field, std::string("is not ") + expected);
  if (!EVP_PKEY_is_a(key.get(), "RSA")) throw InvalidArgument(field, "is not an RSA key");
  if (EVP_PKEY_get_bits(key.get()) < kMinRsaBits) {
    throw InvalidArgument(field, "RSA key has " + std::to_string(EVP_PKEY_get_bits(key.get())) +
                                     " bits; at least " + std::to_string(kMinRsaBits) +
                                     " are required");
  }
  return key;
}

std::string HmacSha256(std::string_view key, std::string_view data) {
  std::array<unsigned char, EVP_MAX_MD_SIZE> mac{};
  unsigned int length = 0;
  if (HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
           reinterpret_cast<const unsigned char*>(data.data()), data.size(), mac.data(),
           &length) == nullptr) {
    ERR_clear_error();
    throw Internal("HMAC-SHA256 failed");
  }
  return std::string(reinterpret_cast<const char*>(mac.data()), length);
}

bool RsaSha256Verify(EVP_PKEY* key, std::string_view data, std::string_view signature) {
  MdCtxPtr ctx(EVP_MD_CTX_new());
  const bool ok =
      ctx && EVP_DigestVerifyInit(ctx.get(), nullptr, EVP_sha256(), nullptr, key) == 1 &&
      EVP_DigestVerify(ctx.get(), reinterpret_cast<const unsigned char*>(signature.data()),
                       signature.size(), reinterpret_cast<const unsigned char*>(data.data()),
                       data.size()) == 1;
  ERR_clear_error();
  return ok;
}

std::string RsaSha256Sign(EVP_PKEY* key, std::string_view data) {
  MdCtxPtr ctx(EVP_MD_CTX_new());
  size_t length = 0;
  const auto* bytes = reinterpret_cast<const unsigned char*>(data.data());
  if (!ctx || EVP_DigestSignInit(ctx.get(), nullptr, EVP_sha256(), nullptr, key) != 1 ||
      EVP_DigestSign(ctx.get(), nullptr, &length, bytes, data.size()) != 1) {
    ERR_clear_error();
    throw Internal("RS256 signing failed");
  }
  std::string signature(length, '\0');
  if (EVP_DigestSign(ctx.get(), reinterpret_cast<unsigned char*>(signature.data()), &length, bytes,
                     data.size()) != 1) {
    ERR_clear_error();
    throw Internal("RS256 signing failed");
  }
  signature.resize(length);
  return signature;
}

// --- errors -----------------------------------------------------------------

[[noreturn]] void Reject(std::string reason, std::string message) {
  throw Error(ErrorKind::kUnauthenticated, std::move(reason), std::move(message));
}

[[noreturn]] void Malformed(std::string_view what) {
  Reject("MALFORMED_TOKEN", "malformed token: " + std::string(what));
}

// --- JSON -------------------------------------------------------------------

Struct ParseJsonObject(std::string_view segment, std::string_view what) {
  const std::optional<std::string> json = Base64UrlDecode(segment);
  if (!json) Malformed(std::string(what) + " is not base64url");
  Struct object;
  if (!google::protobuf::util::JsonStringToMessage(*json, &object).ok()) {
    Malformed(std::string(what) + " is not a JSON object");
  }
  return object;
}

const Value* Find(const Struct& object, const std::string& name) {
  const auto it = object.fields().find(name);
  return it == object.fields().end() ? nullptr : &it->second;
}

std::optional<std::string> StringClaim(const Struct& claims, const std::string& name) {
  const Value* value = Find(claims, name);
  if (value == nullptr) return std::nullopt;
  if (value->kind_case() != Value::kStringValue) {
    Reject("BAD_CLAIM", "claim " + name + " must be a string");
  }
  return value->string_value();
}

std::optional<std::vector<std::string>> StringArrayClaim(const Struct& claims,
                                                         const std::string& name) {
  const Value* value = Find(claims, name);
  if (value == nullptr) return std::nullopt;
  if (value->kind_case() != Value::kListValue) {
    Reject("BAD_CLAIM", "claim " + name + " must be an array of strings");
  }
  std::vector<std::string> out;
  for (const Value& item : value->list_value().values()) {
    if (item.kind_case() != Value::kStringValue || item.string_value().empty()) {
      Reject("BAD_CLAIM", "claim " + name + " must be an array of non-empty strings");
    }
    out.push_back(item.string_value());
  }
  return out;
}

std::optional<Timestamp> TimeClaim(const Struct& claims, const std::string& name) {
  const Value* value = Find(claims, name);
  if (value == nullptr) return std::nullopt;
  const double seconds = value->kind_case() == Value::kNumberValue ? value->number_value() : -1;
  if (!std::isfinite(seconds) || seconds < 0 || seconds > kMaxNumericDate) {
    Reject("BAD_CLAIM", "claim " + name + " must be a NumericDate (seconds since 1970)");
  }
  return Timestamp{} + std::chrono::seconds(static_cast<int64_t>(std::floor(seconds)));
}

void AppendJsonString(std::string& out, std::string_view text) {
  out += '"';
  for (char c : text) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          char escaped[8];
          std::snprintf(escaped, sizeof escaped, "\\u%04x", static_cast<unsigned>(c));
          out += escaped;
        } else {
          out += c;
        }
    }
  }
  out += '"';
}

void AppendJsonStringArray(std::string& out, const std::vector<std::string>& items) {
  out += '[';
  for (size_t i = 0; i < items.size(); ++i) {
    if (i > 0) out += ',';
    AppendJsonString(out, items[i]);
  }
  out += ']';
}

int64_t UnixSeconds(Timestamp t) {
  return std::chrono::floor<std::chrono::seconds>(t.time_since_epoch()).count();
}

std::string ClaimsJson(const JwtClaims& claims) {
  std::string out = "{\"sub\":";
  AppendJsonString(out, claims.subject);
  out += ",\"grp\":";
  AppendJsonString(out, claims.group);
  out += ",\"sites\":";
  AppendJsonStringArray(out, claims.sites);
  out += ",\"roles\":";
  AppendJsonStringArray(out, claims.roles);
  if (!claims.issuer.empty()) {
    out += ",\"iss\":";
    AppendJsonString(out, claims.issuer);
  }
  if (!claims.audience.empty()) {
    out += ",\"aud\":";
    AppendJsonString(out, claims.audience);
  }
  if (claims.issued_at != Timestamp{}) {
    out += ",\"iat\":" + std::to_string(UnixSeconds(claims.issued_at));
  }
  out += ",\"exp\":" + std::to_string(UnixSeconds(claims.expires_at));
  if (claims.not_before) out += ",\"nbf\":" + std::to_string(UnixSeconds(*claims.not_before));
  out += '}';
  return out;
}

std::string SigningInput(std::string_view algorithm, const JwtClaims& claims) {
  const std::string header = "{\"alg\":\"" + std::string(algorithm) + "\",\"typ\":\"JWT\"}";
  return Base64UrlEncode(header) + "." + Base64UrlEncode(ClaimsJson(claims));
}

// "none" in any letter case: some libraries compared it case-insensitively.
bool IsNone(std::string_view alg) {
  return alg.size() == 4 && std::tolower(static_cast<unsigned char>(alg[0])) == 'n' &&
         std::tolower(static_cast<unsigned char>(alg[1])) == 'o' &&
         std::tolower(static_cast<unsigned char>(alg[2])) == 'n' &&
         std::tolower(static_cast<unsigned char>(alg[3])) == 'e';
}

// --- claim checks (after the signature verified) ----------------------------

void CheckTimes(const Struct& claims, Timestamp now, std::chrono::seconds leeway) {
  const std::optional<Timestamp> expires = TimeClaim(claims, "exp");
  if (!expires) Reject("MISSING_EXPIRY", "token has no exp claim; tokens must expire");
  if (now >= *expires + leeway) Reject("TOKEN_EXPIRED", "token expired; sign in again");
  const std::optional<Timestamp> not_before = TimeClaim(claims, "nbf");
  if (not_before && now + leeway < *not_before) {
    Reject("TOKEN_NOT_YET_VALID", "token is not valid yet (nbf); check the clocks");
  }
  (void)TimeClaim(claims, "iat");  // type-checked only
}

void CheckAudience(const Struct& claims, const std::string& audience) {
  const Value* aud = Find(claims, "aud");
  bool match = false;
  if (aud != nullptr && aud->kind_case() == Value::kStringValue) {
    match = aud->string_value() == audience;
  } else if (aud != nullptr) {
    const std::vector<std::string> audiences =
        StringArrayClaim(claims, "aud").value_or(std::vector<std::string>{});
    match = std::find(audiences.begin(), audiences.end(), audience) != audiences.end();
  }
  if (!match) Reject("WRONG_AUDIENCE", "token is not meant for " + audience);
}

void CheckIssuer(const Struct& claims, const std::string& issuer) {
  if (issuer.empty()) return;
  if (StringClaim(claims, "iss") != issuer) {
    Reject("WRONG_ISSUER", "token was not issued by " + issuer);
  }
}

Principal PrincipalFromClaims(const Struct& claims) {
  Principal p;
  p.staff_id = StringClaim(claims, "sub").value_or("");
  if (p.staff_id.empty()) Reject("MISSING_SUBJECT", "token names no staff member (sub)");
  p.group_id = StringClaim(claims, "grp").value_or("");
  if (p.group_id.empty()) Reject("MISSING_GROUP", "token names no group (grp)");
  p.sites = StringArrayClaim(claims, "sites").value_or(std::vector<std::string>{});
  const std::vector<std::string> roles =
      StringArrayClaim(claims, "roles").value_or(std::vector<std::string>{});
  if (roles.empty()) Reject("MISSING_ROLES", "token grants no roles");
  for (const std::string& name : roles) {
    const std::optional<Role> role = RoleFromString(name);
    if (!role) Reject("UNKNOWN_ROLE", "token has an unknown role \"" + name + "\"");
    p.roles.push_back(*role);
  }
  return p;
}

}  // namespace

// --- base64url --------------------------------------------------------------

std::string Base64UrlEncode(std::string_view bytes) {
  std::string out;
  out.reserve((bytes.size() * 4 + 2) / 3);
  uint32_t buffer = 0;
  int bits = 0;
  for (unsigned char c : bytes) {
    buffer = (buffer << 8) | c;
    bits += 8;
    while (bits >= 6) {
      bits -= 6;
      out += kBase64UrlAlphabet[(buffer >> bits) & 0x3f];
    }
  }
  if (bits > 0) out += kBase64UrlAlphabet[(buffer << (6 - bits)) & 0x3f];
  return out;
}

std::optional<std::string> Base64UrlDecode(std::string_view text) {
  if (text.size() % 4 == 1) return std::nullopt;
  std::string out;
  out.reserve(text.size() * 3 / 4);
  uint32_t buffer = 0;
  int bits = 0;
  for (char c : text) {
    const size_t index = kBase64UrlAlphabet.find(c);
    if (index == std::string_view::npos) return std::nullopt;
    buffer = (buffer << 6) | static_cast<uint32_t>(index);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out += static_cast<char>((buffer >> bits) & 0xff);
    }
  }
  // Leftover bits must be zero: one canonical encoding per byte string.
  if ((buffer & ((1u << bits) - 1)) != 0) return std::nullopt;
  return out;
}

// --- JwtVerifier ------------------------------------------------------------

struct JwtVerifier::Key {
  PkeyPtr pkey;
};

JwtVerifier::JwtVerifier(JwtConfig config) : config_(std::move(config)) {
  const bool has_secret = !config_.hs256_secret.empty();
  const bool has_key = !config_.rs256_public_key_pem.empty();
  if (has_secret == has_key) {
    throw InvalidArgument("jwt", "configure exactly one of an HS256 secret or an RS256 public key");
  }
  if (has_secret && config_.hs256_secret.size() < kMinSecretBytes) {
    throw InvalidArgument("jwt.hs256_secret", "must be at least " +
                                                  std::to_string(kMinSecretBytes) + " bytes, got " +
                                                  std::to_string(config_.hs256_secret.size()));
  }
  if (has_key) {
    rs256_key_ = std::make_shared<const Key>(
        Key{ReadRsaKey(config_.rs256_public_key_pem, false, "jwt.rs256_public_key_pem")});
  }
  if (config_.audience.empty()) throw InvalidArgument("jwt.audience", "must be set");
  if (config_.leeway < std::chrono::seconds{0}) {
    throw InvalidArgument("jwt.leeway", "must not be negative");
  }
  if (config_.cache_capacity > 0) cache_ = std::make_shared<Cache>(config_.cache_capacity);
}

class JwtVerifier::Cache {
 public:
  explicit Cache(size_t capacity) : capacity_(capacity) {}

  std::optional<Principal> Find(std::string_view token, Timestamp now) {
    std::lock_guard<std::mutex> lock(mu_);
    const auto it = entries_.find(std::string(token));
    if (it == entries_.end()) return std::nullopt;
    if (now < it->second.verified_at || now >= it->second.expires_at) {
      entries_.erase(it);
      return std::nullopt;
    }
    return it->second.principal;
  }

  void Remember(std::string_view token, const Principal& principal, Timestamp verified_at,
                Timestamp expires_at) {
    if (verified_at >= expires_at) return;
    std::lock_guard<std::mutex> lock(mu_);
    if (entries_.size() >= capacity_) entries_.clear();
    entries_.insert_or_assign(std::string(token), Entry{principal, verified_at, expires_at});
  }

  size_t size() {
    std::lock_guard<std::mutex> lock(mu_);
    return entries_.size();
  }

 private:
  struct Entry {
    Principal principal;
    Timestamp verified_at;  // an earlier `now` (a test's clock) is not served
    Timestamp expires_at;
  };
  const size_t capacity_;
  std::mutex mu_;
  std::unordered_map<std::string, Entry> entries_;  // guarded by mu_
};

size_t JwtVerifier::cached_tokens() const { return cache_ ? cache_->size() : 0; }

Principal JwtVerifier::Verify(std::string_view token, Timestamp now) const {
  if (!cache_) return VerifyUncached(token, now, nullptr);
  if (std::optional<Principal> known = cache_->Find(token, now)) return *std::move(known);
  Timestamp expires_at;
  Principal principal = VerifyUncached(token, now, &expires_at);  // throws when bad
  cache_->Remember(token, principal, now, expires_at);
  return principal;
}

Principal JwtVerifier::VerifyUncached(std::string_view token, Timestamp now,
                                      Timestamp* expires_at) const {
  if (token.empty()) Malformed("empty");
  if (token.size() > kMaxTokenBytes) Malformed("too long");
  const size_t first_dot = token.find('.');
  const size_t second_dot =
      first_dot == std::string_view::npos ? first_dot : token.find('.', first_dot + 1);
  if (second_dot == std::string_view::npos ||
      token.find('.', second_dot + 1) != std::string_view::npos) {
    Malformed("expected three dot-separated parts");
  }
  const std::string_view signing_input = token.substr(0, second_dot);
  const Struct header = ParseJsonObject(token.substr(0, first_dot), "header");

  // The algorithm is ours to choose, never the token's: anything but the one
  // configured is rejected before the signature is even looked at.
  const Value* alg = Find(header, "alg");
  if (alg == nullptr || alg->kind_case() != Value::kStringValue) Malformed("header has no alg");
  const std::string expected_alg = rs256_key_ ? "RS256" : "HS256";
  if (IsNone(alg->string_value())) Reject("ALG_NONE", "unsigned tokens are not accepted");
  if (alg->string_value() != expected_alg) {
    // The token's alg is not echoed: it is attacker-controlled text.
    Reject("ALGORITHM_NOT_ALLOWED", "only " + expected_alg + " tokens are accepted");
  }
  if (Find(header, "crit") != nullptr) {
    Reject("UNSUPPORTED_HEADER",
           "token has critical header extensions this verifier does not implement");
  }

  const std::optional<std::string> signature = Base64UrlDecode(token.substr(second_dot + 1));
  if (!signature || signature->empty()) Malformed("signature is not base64url");
  bool valid = false;
  if (rs256_key_) {
    valid = RsaSha256Verify(rs256_key_->pkey.get(), signing_input, *signature);
  } else {
    const std::string mac = HmacSha256(config_.hs256_secret, signing_input);
    valid = signature->size() == mac.size() &&
            CRYPTO_memcmp(signature->data(), mac.data(), mac.size()) == 0;
  }
  if (!valid) Reject("BAD_SIGNATURE", "token signature does not verify");

  const Struct claims =
      ParseJsonObject(token.substr(first_dot + 1, second_dot - first_dot - 1), "claims");
  CheckTimes(claims, now, config_.leeway);
  if (expires_at != nullptr) *expires_at = *TimeClaim(claims, "exp");  // CheckTimes: present
  CheckAudience(claims, config_.audience);
  CheckIssuer(claims, config_.issuer);
  return PrincipalFromClaims(claims);
}

// --- signing ----------------------------------------------------------------

std::string SignJwtHs256(const JwtClaims& claims, std::string_view secret) {
  if (secret.size() < kMinSecretBytes) {
    throw InvalidArgument("secret",
                          "must be at least " + std::to_string(kMinSecretBytes) + " bytes");
  }
  const std::string input = SigningInput("HS256", claims);
  return input + "." + Base64UrlEncode(HmacSha256(secret, input));
}

std::string SignJwtRs256(const JwtClaims& claims, std::string_view private_key_pem) {
  const PkeyPtr key = ReadRsaKey(private_key_pem, true, "private_key_pem");
  const std::string input = SigningInput("RS256", claims);
  return input + "." + Base64UrlEncode(RsaSha256Sign(key.get(), input));
}

}  // namespace propdesk::common
