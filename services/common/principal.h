#pragma once

// Who is calling (from a verified JWT, see jwt.h) and rule C-1, site scope:
// every read and write names a site and is allowed only on sites the caller
// is granted; group admins and auditors may read every site of their group;
// a site the caller may not use is indistinguishable from a missing one.

#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/errors.h"

namespace propdesk::common {

// The staff roles of DOMAIN.md ("Words").
enum class Role {
  kUnspecified,
  kFrontDesk,
  kCsAdmin,
  kSupervisor,
  kSiteManager,
  kDutyManager,
  kEngineer,
  kSecurity,
  kFinance,
  kGroupAdmin,
  kAuditor,
};

// "front_desk", "cs_admin", "supervisor", "site_manager", "duty_manager",
// "engineer", "security", "finance", "group_admin", "auditor"; nullopt for
// anything else (including "unspecified").
std::optional<Role> RoleFromString(std::string_view name);
// The name RoleFromString accepts; "unspecified" for kUnspecified.
std::string_view RoleName(Role role);

enum class Access { kRead, kWrite };

// The grant of every site of the principal's group. Honoured only for group
// admins (read and write) and auditors (read); ignored for anyone else.
inline constexpr std::string_view kAllSitesOfGroup = "*";

struct Principal {
  std::string staff_id{};
  std::string group_id{};
  std::vector<std::string> sites{};  // site ids, or "*" (see kAllSitesOfGroup)
  std::vector<Role> roles{};

  bool HasRole(Role role) const;
  bool HasAnyRole(std::initializer_list<Role> any) const;
  // True when every role is kAuditor: such a principal may only read.
  bool IsReadOnly() const;
};

struct SiteRef {
  std::string_view site_id{};
  std::string_view group_id{};  // the group the site belongs to
};

// Rule C-1. Returns when `p` may read (kRead) or write (kWrite) `site`.
// Throws:
//  - Error(kInvalidArgument) when site.site_id is empty (every call names a site);
//  - SiteNotFound(site.site_id) when the site is of another group or not
//    granted: the same error a missing site gets;
//  - Error(kPermissionDenied, "READ_ONLY_ROLE") for a write by a principal
//    who can see the site but only read it (an auditor, or a "*" grant
//    honoured only through the auditor role).
// Role checks ("may a front desk close a ticket?") are the service's job.
void RequireSiteAccess(const Principal& p, SiteRef site, Access access);

// Whether RequireSiteAccess would pass (for filtering lists).
bool HasSiteAccess(const Principal& p, SiteRef site, Access access);

// Error(kNotFound, "SITE_NOT_FOUND", "site <id> not found"): what a service
// must answer for a site that does not exist, so that it is identical to the
// answer for a site the caller may not see (C-1).
Error SiteNotFound(std::string_view site_id);

}  // namespace propdesk::common
