// Rule C-1: a caller uses only the sites granted to it; group admins and
// auditors see every site of their own group through a "*" grant; auditors
// only read; a site the caller may not use answers exactly like a missing one.

#include "common/principal.h"

#include <gtest/gtest.h>

#include <string>

#include "common/errors.h"

namespace propdesk::common {
namespace {

constexpr std::string_view kGroup = "grp-vanke";

Principal Staff(std::vector<std::string> sites, std::vector<Role> roles,
                std::string group = std::string(kGroup)) {
  return Principal{.staff_id = "staff-7",
                   .group_id = std::move(group),
                   .sites = std::move(sites),
                   .roles = std::move(roles)};
}

SiteRef Site(std::string_view id, std::string_view group = kGroup) { return SiteRef{id, group}; }

// The answer for a site that truly does not exist, for comparison.
Error MissingSiteAnswer(std::string_view id) { return SiteNotFound(id); }

void ExpectLooksMissing(const Principal& p, SiteRef site, Access access) {
  try {
    RequireSiteAccess(p, site, access);
    FAIL() << "allowed " << site.site_id;
  } catch (const Error& e) {
    const Error missing = MissingSiteAnswer(site.site_id);
    EXPECT_EQ(e.kind(), ErrorKind::kNotFound);
    EXPECT_EQ(e.kind(), missing.kind());
    EXPECT_EQ(e.reason(), "SITE_NOT_FOUND");
    EXPECT_EQ(e.reason(), missing.reason());
    EXPECT_STREQ(e.what(), missing.what());
    EXPECT_EQ(e.metadata(), missing.metadata());
    EXPECT_EQ(std::string(e.what()), "site " + std::string(site.site_id) + " not found");
  }
  EXPECT_FALSE(HasSiteAccess(p, site, access));
}

void ExpectReadOnly(const Principal& p, SiteRef site) {
  EXPECT_NO_THROW(RequireSiteAccess(p, site, Access::kRead));
  EXPECT_TRUE(HasSiteAccess(p, site, Access::kRead));
  EXPECT_FALSE(HasSiteAccess(p, site, Access::kWrite));
  try {
    RequireSiteAccess(p, site, Access::kWrite);
    FAIL() << "write allowed on " << site.site_id;
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::kPermissionDenied);
    EXPECT_EQ(e.reason(), "READ_ONLY_ROLE");
  }
}

void ExpectReadWrite(const Principal& p, SiteRef site) {
  EXPECT_NO_THROW(RequireSiteAccess(p, site, Access::kRead));
  EXPECT_NO_THROW(RequireSiteAccess(p, site, Access::kWrite));
  EXPECT_TRUE(HasSiteAccess(p, site, Access::kWrite));
}

TEST(SiteScope, C1_GrantedSiteMayBeReadAndWritten) {
  ExpectReadWrite(Staff({"sz01", "sz02"}, {Role::kFrontDesk}), Site("sz02"));
}

TEST(SiteScope, C1_UngrantedSiteOfTheSameGroupLooksMissing) {
  const Principal p = Staff({"sz01"}, {Role::kFrontDesk});
  ExpectLooksMissing(p, Site("sz02"), Access::kRead);
  ExpectLooksMissing(p, Site("sz02"), Access::kWrite);
}

TEST(SiteScope, C1_SiteOfAnotherGroupLooksMissingEvenWithTheSameId) {
  // The token lists "sz01", but this sz01 belongs to another group.
  ExpectLooksMissing(Staff({"sz01"}, {Role::kSiteManager}), Site("sz01", "grp-other"),
                     Access::kRead);
  ExpectLooksMissing(Staff({"*"}, {Role::kGroupAdmin}), Site("sz01", "grp-other"), Access::kRead);
  ExpectLooksMissing(Staff({"*"}, {Role::kAuditor}), Site("sz01", "grp-other"), Access::kRead);
}

TEST(SiteScope, C1_GroupAdminStarGrantCoversEverySiteOfTheGroup) {
  const Principal admin = Staff({"*"}, {Role::kGroupAdmin});
  ExpectReadWrite(admin, Site("sz01"));
  ExpectReadWrite(admin, Site("any-other-site"));
}

TEST(SiteScope, C1_AuditorStarGrantReadsEverySiteButWritesNone) {
  const Principal auditor = Staff({"*"}, {Role::kAuditor});
  ExpectReadOnly(auditor, Site("sz01"));
  ExpectReadOnly(auditor, Site("bj07"));
}

TEST(SiteScope, C1_AuditorWithAnExplicitSiteIsStillReadOnly) {
  ExpectReadOnly(Staff({"sz01"}, {Role::kAuditor}), Site("sz01"));
}

TEST(SiteScope, C1_StarGrantIsIgnoredForOtherRoles) {
  for (Role role : {Role::kFrontDesk, Role::kSupervisor, Role::kSiteManager, Role::kFinance}) {
    const Principal p = Staff({"*"}, {role});
    ExpectLooksMissing(p, Site("sz01"), Access::kRead);
  }
}

TEST(SiteScope, C1_AuditorPlusOtherRoleWritesOnlyExplicitSites) {
  const Principal p = Staff({"sz01", "*"}, {Role::kAuditor, Role::kFrontDesk});
  ExpectReadWrite(p, Site("sz01"));  // explicitly granted, front desk writes
  ExpectReadOnly(p, Site("sz02"));   // only through the auditor's "*"
}

TEST(SiteScope, C1_StarIsNotASiteId) {
  // A request naming site "*" must not match the "*" grant of a front desk.
  ExpectLooksMissing(Staff({"*"}, {Role::kFrontDesk}), Site("*"), Access::kWrite);
  ExpectLooksMissing(Staff({"*"}, {Role::kGroupAdmin}), Site("*"), Access::kRead);
}

TEST(SiteScope, C1_PrincipalWithoutGroupSeesNothing) {
  ExpectLooksMissing(Staff({"sz01"}, {Role::kFrontDesk}, ""), Site("sz01", ""), Access::kRead);
}

TEST(SiteScope, C1_EverySiteMustBeNamed) {
  try {
    RequireSiteAccess(Staff({"sz01"}, {Role::kFrontDesk}), Site(""), Access::kRead);
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::kInvalidArgument);
  }
}

TEST(Principal, RoleNamesRoundTrip) {
  for (Role role :
       {Role::kFrontDesk, Role::kCsAdmin, Role::kSupervisor, Role::kSiteManager, Role::kDutyManager,
        Role::kEngineer, Role::kSecurity, Role::kFinance, Role::kGroupAdmin, Role::kAuditor}) {
    EXPECT_EQ(RoleFromString(RoleName(role)), role) << RoleName(role);
  }
  EXPECT_EQ(RoleName(Role::kCsAdmin), "cs_admin");
  EXPECT_EQ(RoleName(Role::kUnspecified), "unspecified");
  EXPECT_EQ(RoleFromString("unspecified"), std::nullopt);
  EXPECT_EQ(RoleFromString("Front_Desk"), std::nullopt);
  EXPECT_EQ(RoleFromString(""), std::nullopt);
}

TEST(Principal, HasRoleAndHasAnyRole) {
  const Principal p = Staff({"sz01"}, {Role::kSupervisor, Role::kEngineer});
  EXPECT_TRUE(p.HasRole(Role::kEngineer));
  EXPECT_FALSE(p.HasRole(Role::kFinance));
  EXPECT_TRUE(p.HasAnyRole({Role::kFinance, Role::kSupervisor}));
  EXPECT_FALSE(p.HasAnyRole({Role::kFinance, Role::kAuditor}));
  EXPECT_FALSE(p.HasAnyRole({}));
  EXPECT_FALSE(p.IsReadOnly());
  EXPECT_TRUE(Staff({}, {Role::kAuditor}).IsReadOnly());
}

}  // namespace
}  // namespace propdesk::common
