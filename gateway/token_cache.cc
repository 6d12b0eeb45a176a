#include "gateway/token_cache.h"

#include <google/protobuf/struct.pb.h>
#include <google/protobuf/util/json_util.h>

#include <cmath>

namespace propdesk::gateway {

std::optional<common::Timestamp> JwtExpiry(std::string_view token) {
  const size_t first = token.find('.');
  const size_t second = first == std::string_view::npos ? first : token.find('.', first + 1);
  if (second == std::string_view::npos) return std::nullopt;
  const std::optional<std::string> payload =
      common::Base64UrlDecode(token.substr(first + 1, second - first - 1));
  if (!payload) return std::nullopt;
  google::protobuf::Struct claims;
  if (!google::protobuf::util::JsonStringToMessage(*payload, &claims).ok()) return std::nullopt;
  const auto it = claims.fields().find("exp");
  if (it == claims.fields().end() || !it->second.has_number_value()) return std::nullopt;
  const double exp = it->second.number_value();
  if (!std::isfinite(exp)) return std::nullopt;
  return common::Timestamp(std::chrono::seconds(static_cast<int64_t>(exp)));
}

VerifiedTokenCache::VerifiedTokenCache(const common::JwtVerifier* verifier, size_t capacity)
    : verifier_(verifier), capacity_(capacity) {}

common::Principal VerifiedTokenCache::Verify(std::string_view token, common::Timestamp now) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    const auto it = entries_.find(std::string(token));
    if (it != entries_.end()) {
      if (now < it->second.expires_at) return it->second.principal;
      entries_.erase(it);
    }
  }
  common::Principal principal = verifier_->Verify(token, now);  // throws when bad
  const std::optional<common::Timestamp> expires_at = JwtExpiry(token);
  if (expires_at && now < *expires_at) {
    std::lock_guard<std::mutex> lock(mu_);
    if (entries_.size() >= capacity_) entries_.clear();
    entries_[std::string(token)] = Entry{principal, *expires_at};
  }
  return principal;
}

size_t VerifiedTokenCache::size() const {
  std::lock_guard<std::mutex> lock(mu_);
  return entries_.size();
}

}  // namespace propdesk::gateway
