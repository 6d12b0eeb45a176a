#include "common/principal.h"

#include <algorithm>
#include <array>
#include <utility>

namespace propdesk::common {
namespace {

constexpr std::array<std::pair<Role, std::string_view>, 10> kRoleNames = {{
    {Role::kFrontDesk, "front_desk"},
    {Role::kCsAdmin, "cs_admin"},
    {Role::kSupervisor, "supervisor"},
    {Role::kSiteManager, "site_manager"},
    {Role::kDutyManager, "duty_manager"},
    {Role::kEngineer, "engineer"},
    {Role::kSecurity, "security"},
    {Role::kFinance, "finance"},
    {Role::kGroupAdmin, "group_admin"},
    {Role::kAuditor, "auditor"},
}};

enum class Visibility { kNone, kReadOnly, kReadWrite };

// What `p` may do on `site`, before looking at the access asked for.
Visibility VisibilityOf(const Principal& p, SiteRef site) {
  if (p.group_id.empty() || site.group_id != p.group_id) return Visibility::kNone;
  // No site is called "*": a request naming it must not match the grant.
  if (site.site_id == kAllSitesOfGroup) return Visibility::kNone;
  const bool read_only = p.IsReadOnly();
  const auto granted = [&](std::string_view id) {
    return std::find(p.sites.begin(), p.sites.end(), id) != p.sites.end();
  };
  if (granted(site.site_id)) return read_only ? Visibility::kReadOnly : Visibility::kReadWrite;
  if (granted(kAllSitesOfGroup)) {
    if (p.HasRole(Role::kGroupAdmin)) return Visibility::kReadWrite;
    if (p.HasRole(Role::kAuditor)) return Visibility::kReadOnly;
  }
  return Visibility::kNone;
}

}  // namespace

std::optional<Role> RoleFromString(std::string_view name) {
  for (const auto& [role, role_name] : kRoleNames) {
    if (role_name == name) return role;
  }
  return std::nullopt;
}

std::string_view RoleName(Role role) {
  for (const auto& [known, role_name] : kRoleNames) {
    if (known == role) return role_name;
  }
  return "unspecified";
}

bool Principal::HasRole(Role role) const {
  return std::find(roles.begin(), roles.end(), role) != roles.end();
}

bool Principal::HasAnyRole(std::initializer_list<Role> any) const {
  return std::any_of(any.begin(), any.end(), [this](Role role) { return HasRole(role); });
}

bool Principal::IsReadOnly() const {
  return !roles.empty() &&
         std::all_of(roles.begin(), roles.end(), [](Role role) { return role == Role::kAuditor; });
}

Error SiteNotFound(std::string_view site_id) {
  return Error(ErrorKind::kNotFound, "SITE_NOT_FOUND",
               "site " + std::string(site_id) + " not found", {{"site_id", std::string(site_id)}});
}

bool HasSiteAccess(const Principal& p, SiteRef site, Access access) {
  if (site.site_id.empty()) return false;
  const Visibility visibility = VisibilityOf(p, site);
  return visibility == Visibility::kReadWrite ||
         (visibility == Visibility::kReadOnly && access == Access::kRead);
}

void RequireSiteAccess(const Principal& p, SiteRef site, Access access) {
  if (site.site_id.empty()) {
    throw InvalidArgument("site_id", "every request must name a site");
  }
  const Visibility visibility = VisibilityOf(p, site);
  if (visibility == Visibility::kNone) throw SiteNotFound(site.site_id);
  if (visibility == Visibility::kReadOnly && access == Access::kWrite) {
    throw Error(
        ErrorKind::kPermissionDenied, "READ_ONLY_ROLE",
        "read-only access to site " + std::string(site.site_id) + ": auditors cannot make changes",
        {{"site_id", std::string(site.site_id)}});
  }
}

}  // namespace propdesk::common
