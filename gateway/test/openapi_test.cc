#include "gateway/openapi.h"

#include <gmock/gmock.h>
#include <google/protobuf/struct.pb.h>
#include <google/protobuf/util/json_util.h>
#include <gtest/gtest.h>

#include <set>

#include "gateway/descriptors.h"
#include "support/test_descriptors.h"

namespace propdesk::gateway {
namespace {

namespace pb = google::protobuf;
using ::testing::Contains;
using ::testing::HasSubstr;
using ::testing::IsSupersetOf;

class OpenApiTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    static const LoadedDescriptors descriptors = LoadDescriptorSets(test::TestingDescriptors());
    static const RouteTable routes = RouteTable::Build(
        descriptors.services, [](const pb::ServiceDescriptor&) { return std::string("testing"); });
    json_ = new std::string(BuildOpenApi(routes, {"propdesk API", "1.2.3"}));
    doc_ = new pb::Struct();
    ASSERT_TRUE(pb::util::JsonStringToMessage(*json_, doc_).ok()) << "not JSON: " << *json_;
  }
  static void TearDownTestSuite() {
    delete doc_;
    delete json_;
  }

  static const pb::Struct& Obj(const pb::Struct& s, const std::string& key) {
    auto it = s.fields().find(key);
    if (it == s.fields().end()) {
      ADD_FAILURE() << "no key " << key;
      static const pb::Struct empty;
      return empty;
    }
    return it->second.struct_value();
  }
  static std::string Str(const pb::Struct& s, const std::string& key) {
    auto it = s.fields().find(key);
    return it == s.fields().end() ? "<missing>" : it->second.string_value();
  }
  static const pb::Struct& Operation(const std::string& path, const std::string& method) {
    return Obj(Obj(Obj(*doc_, "paths"), path), method);
  }
  static std::map<std::string, pb::Struct> Parameters(const pb::Struct& operation) {
    std::map<std::string, pb::Struct> out;
    for (const pb::Value& p : operation.fields().at("parameters").list_value().values()) {
      out[Str(p.struct_value(), "name")] = p.struct_value();
    }
    return out;
  }
  static const pb::Struct& Schema(const std::string& name) {
    return Obj(Obj(Obj(*doc_, "components"), "schemas"), name);
  }

  static std::string* json_;
  static pb::Struct* doc_;
};

std::string* OpenApiTest::json_ = nullptr;
pb::Struct* OpenApiTest::doc_ = nullptr;

TEST_F(OpenApiTest, DocumentHeaderAndSecurity) {
  EXPECT_EQ(Str(*doc_, "openapi"), "3.0.3");
  EXPECT_EQ(Str(Obj(*doc_, "info"), "version"), "1.2.3");
  const auto& scheme = Obj(Obj(Obj(*doc_, "components"), "securitySchemes"), "bearerAuth");
  EXPECT_EQ(Str(scheme, "scheme"), "bearer");
  EXPECT_EQ(Str(scheme, "bearerFormat"), "JWT");
}

TEST_F(OpenApiTest, EveryRouteIsAnOperationWithAUniqueId) {
  std::set<std::string> ids;
  std::vector<std::string> keys;
  for (const auto& [path, item] : Obj(*doc_, "paths").fields()) {
    for (const auto& [method, operation] : item.struct_value().fields()) {
      keys.push_back(method + " " + path);
      EXPECT_TRUE(ids.insert(Str(operation.struct_value(), "operationId")).second) << path;
    }
  }
  EXPECT_THAT(
      keys,
      IsSupersetOf({"post /v1/sites/{site_id}/echoes", "get /v1/sites/{site_id}/things/{thing_id}",
                    "delete /v1/sites/{site_id}/things/{thing_id}",
                    "patch /v1/sites/{thing.site_id}/things/{thing.thing_id}",
                    "post /v1/sites/{site_id}/things/{thing_id}:resolve",
                    "put /v1/sites/{site_id}/resolutions/{thing_id}", "get /v1/things",
                    "get /v1/{name}/history", "get /v1/sites/{site_id}/files/{path}"}));
  EXPECT_EQ(keys.size(), 10u);
  EXPECT_THAT(ids, Contains("TranscodeService_ListThings_1"));
  EXPECT_THAT(ids, Contains("EchoService_Echo"));
}

TEST_F(OpenApiTest, OperationsCarryCommentsParametersAndBodies) {
  const auto& resolve = Operation("/v1/sites/{site_id}/things/{thing_id}:resolve", "post");
  EXPECT_THAT(Str(resolve, "description"), HasSubstr("custom verb"));
  const auto params = Parameters(resolve);
  EXPECT_EQ(Str(params.at("site_id"), "in"), "path");
  EXPECT_TRUE(params.at("site_id").fields().at("required").bool_value());
  EXPECT_EQ(Str(params.at("Idempotency-Key"), "in"), "header") << "its request has request_id";
  EXPECT_EQ(params.count("resolutionNote"), 0u) << "body \"*\": no query parameters";
  EXPECT_EQ(Str(Obj(Obj(Obj(Obj(resolve, "requestBody"), "content"), "application/json"), "schema"),
                "$ref"),
            "#/components/schemas/propdesk.testing.v1.ResolveThingRequest");
  const auto& error =
      Obj(Obj(Obj(Obj(resolve, "responses"), "default"), "content"), "application/json");
  EXPECT_EQ(Str(Obj(error, "schema"), "$ref"), "#/components/schemas/Error");
}

TEST_F(OpenApiTest, QueryParametersUseDottedJsonNames) {
  const auto params = Parameters(Operation("/v1/sites/{site_id}/things", "get"));
  EXPECT_EQ(params.count("site_id"), 1u);
  EXPECT_EQ(params.count("siteId"), 0u) << "bound by the path";
  EXPECT_EQ(Str(Obj(params.at("pageSize"), "schema"), "type"), "integer");
  EXPECT_EQ(Str(Obj(params.at("tags"), "schema"), "type"), "array");
  EXPECT_EQ(Str(Obj(params.at("filter.titlePrefix"), "schema"), "type"), "string");
  EXPECT_EQ(Str(Obj(params.at("filter.minDimensions.widthMm"), "schema"), "format"), "int32");
  EXPECT_EQ(Str(Obj(params.at("filter.dueBefore"), "schema"), "format"), "date-time");
  EXPECT_EQ(Str(Obj(params.at("minSizeBytes"), "schema"), "type"), "string")
      << "int64 is a JSON string";
  const auto& states = Obj(Obj(params.at("states"), "schema"), "items");
  EXPECT_EQ(states.fields().at("enum").list_value().values(1).string_value(), "THING_STATE_OPEN");
  EXPECT_EQ(Parameters(Operation("/v1/sites/{site_id}/things/{thing_id}", "get"))
                .count("Idempotency-Key"),
            0u);
}

TEST_F(OpenApiTest, BodyFieldRulesDocumentTheFieldAndTheRestAsQuery) {
  const auto& update = Operation("/v1/sites/{thing.site_id}/things/{thing.thing_id}", "patch");
  const auto params = Parameters(update);
  EXPECT_EQ(params.count("updateMask"), 1u);
  EXPECT_EQ(params.count("thing.title"), 0u) << "the body";
  EXPECT_EQ(Str(Obj(Obj(Obj(Obj(update, "requestBody"), "content"), "application/json"), "schema"),
                "$ref"),
            "#/components/schemas/propdesk.testing.v1.Thing");
  const auto& history = Operation("/v1/{name}/history", "get");
  EXPECT_THAT(Str(Parameters(history).at("name"), "description"),
              HasSubstr("Pattern: sites/*/things/*"));
  EXPECT_EQ(Str(Obj(Obj(Obj(Obj(Obj(history, "responses"), "200"), "content"), "application/json"),
                    "schema"),
                "$ref"),
            "#/components/schemas/propdesk.testing.v1.ThingHistory")
      << "response_body";
}

TEST_F(OpenApiTest, SchemasUseJsonNamesAndTheProto3JsonTypes) {
  const auto& thing = Schema("propdesk.testing.v1.Thing");
  EXPECT_THAT(Str(thing, "description"), HasSubstr("one field of every kind"));
  const auto& props = Obj(thing, "properties");
  EXPECT_EQ(props.fields().count("site_id"), 0u);
  EXPECT_EQ(Str(Obj(props, "sizeBytes"), "type"), "string");
  EXPECT_EQ(Str(Obj(props, "sizeBytes"), "format"), "int64");
  EXPECT_EQ(Str(Obj(props, "dueTime"), "format"), "date-time");
  EXPECT_EQ(Str(Obj(props, "blob"), "format"), "byte");
  EXPECT_EQ(Str(Obj(props, "state"), "type"), "string");
  EXPECT_EQ(Str(Obj(props, "dimensions"), "$ref"),
            "#/components/schemas/propdesk.testing.v1.Dimensions");
  EXPECT_EQ(Str(Obj(Obj(props, "labels"), "additionalProperties"), "type"), "string");
  EXPECT_EQ(Str(Obj(props, "title"), "description"), "Short text.");
  // Referenced schemas are all there.
  EXPECT_EQ(Str(Schema("propdesk.testing.v1.Dimensions"), "type"), "object");
  const auto& max_results =
      Obj(Obj(Schema("propdesk.testing.v1.ListThingsRequest"), "properties"), "maxResults");
  EXPECT_TRUE(max_results.fields().at("nullable").bool_value()) << "wrapper";
}

TEST_F(OpenApiTest, ErrorSchemaIsAip193) {
  const auto& error = Obj(Obj(Schema("Error"), "properties"), "error");
  const auto& props = Obj(error, "properties");
  EXPECT_EQ(Str(Obj(props, "code"), "type"), "integer");
  EXPECT_EQ(Str(Obj(props, "status"), "type"), "string");
  EXPECT_EQ(Str(Obj(props, "message"), "type"), "string");
  EXPECT_EQ(Str(Obj(props, "details"), "type"), "array");
}

}  // namespace
}  // namespace propdesk::gateway
