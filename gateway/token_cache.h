#pragma once

// Verified bearer tokens, remembered until they expire. A client sends the
// same token with every request; verifying it (signature, JSON claims) each
// time was the largest CPU cost of a gateway hop. The key is the whole
// token, signature included, so only a byte-identical token that already
// verified is served from the cache; an entry stops being used at the
// token's `exp` (from then on every use goes through the verifier again,
// which applies the leeway and rejects it). Failures are never cached.
// Thread-safe.

#include <chrono>
#include <cstddef>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

#include "common/jwt.h"
#include "common/principal.h"

namespace propdesk::gateway {

class VerifiedTokenCache {
 public:
  // `verifier` must outlive the cache. At `capacity` entries the cache is
  // emptied (simple and bounded; tokens are re-verified once).
  explicit VerifiedTokenCache(const common::JwtVerifier* verifier, size_t capacity = 10000);

  // As JwtVerifier::Verify: throws Error(kUnauthenticated, reason).
  common::Principal Verify(std::string_view token, common::Timestamp now);

  size_t size() const;

 private:
  struct Entry {
    common::Principal principal;
    common::Timestamp expires_at;
  };

  const common::JwtVerifier* const verifier_;
  const size_t capacity_;
  mutable std::mutex mu_;
  std::unordered_map<std::string, Entry> entries_;  // guarded by mu_
};

// The `exp` claim of a compact JWT (read without verifying), or nullopt.
std::optional<common::Timestamp> JwtExpiry(std::string_view token);

}  // namespace propdesk::gateway
