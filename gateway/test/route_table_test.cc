#include "gateway/route_table.h"

#include <gmock/gmock.h>
#include <google/protobuf/text_format.h>
#include <gtest/gtest.h>

#include "common/errors.h"
#include "gateway/descriptors.h"
#include "support/test_descriptors.h"

namespace propdesk::gateway {
namespace {

namespace pb = google::protobuf;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::UnorderedElementsAre;

const LoadedDescriptors& TestingDescriptors() {
  static const LoadedDescriptors descriptors = LoadDescriptorSets(test::TestingDescriptors());
  return descriptors;
}

RouteTable TestingRoutes() {
  return RouteTable::Build(TestingDescriptors().services,
                           [](const pb::ServiceDescriptor&) { return std::string("testing"); });
}

// The route Find picks, as "<label>" or "405 <allowed>" or "404".
std::string Resolve(const RouteTable& table, const std::string& method, const std::string& path) {
  RouteTable::Match m = table.Find(method, path);
  if (m.route != nullptr) return m.route->method->name() + " " + m.route->label;
  if (!m.allowed_methods.empty()) {
    std::string out = "405";
    for (const std::string& a : m.allowed_methods) out += " " + a;
    return out;
  }
  return "404";
}

TEST(RouteTable, BuildsOneRoutePerRuleAndAdditionalBinding) {
  const RouteTable table = TestingRoutes();
  std::vector<std::string> labels;
  for (const Route& r : table.routes()) labels.push_back(r.label);
  EXPECT_THAT(labels,
              UnorderedElementsAre("POST /v1/sites/{site_id}/echoes",
                                   "GET /v1/sites/{site_id}/things/{thing_id}",
                                   "GET /v1/sites/{site_id}/things", "GET /v1/things",
                                   "PATCH /v1/sites/{thing.site_id}/things/{thing.thing_id}",
                                   "DELETE /v1/sites/{site_id}/things/{thing_id}",
                                   "POST /v1/sites/{site_id}/things/{thing_id}:resolve",
                                   "PUT /v1/sites/{site_id}/resolutions/{thing_id}",
                                   "GET /v1/{name=sites/*/things/*}/history",
                                   "GET /v1/sites/{site_id}/files/{path=**}"));
  for (const Route& r : table.routes()) {
    EXPECT_EQ(r.upstream, "testing");
    EXPECT_THAT(r.grpc_path, HasSubstr("/propdesk.testing.v1."));
  }
}

TEST(RouteTable, RecordsTheSpecialFieldsOfEachRequest) {
  const RouteTable table = TestingRoutes();
  const Route* echo = table.Find("POST", "/v1/sites/s1/echoes").route;
  ASSERT_NE(echo, nullptr);
  EXPECT_EQ(echo->grpc_path, "/propdesk.testing.v1.EchoService/Echo");
  EXPECT_EQ(echo->body, "*");
  ASSERT_NE(echo->request_id_field, nullptr);
  ASSERT_NE(echo->site_id_field, nullptr);
  EXPECT_EQ(echo->page_size_field, nullptr);
  const Route* list = table.Find("GET", "/v1/sites/s1/things").route;
  ASSERT_NE(list, nullptr);
  EXPECT_NE(list->page_size_field, nullptr);
  EXPECT_EQ(list->request_id_field, nullptr);
  const Route* update = table.Find("PATCH", "/v1/sites/s1/things/t1").route;
  ASSERT_NE(update, nullptr);
  ASSERT_NE(update->body_field, nullptr);
  EXPECT_EQ(update->body_field->name(), "thing");
  ASSERT_EQ(update->variable_fields.size(), 2u);
  EXPECT_EQ(FieldPathName(update->variable_fields[0]), "thing.site_id");
  const Route* history = table.Find("GET", "/v1/sites/s1/things/t1/history").route;
  ASSERT_NE(history, nullptr);
  ASSERT_NE(history->response_body_field, nullptr);
  EXPECT_EQ(history->response_body_field->name(), "history");
}

TEST(RouteTable, FindsRoutesByMethodPathAndVerb) {
  const RouteTable table = TestingRoutes();
  EXPECT_EQ(Resolve(table, "GET", "/v1/sites/s1/things/t1"),
            "GetThing GET /v1/sites/{site_id}/things/{thing_id}");
  EXPECT_EQ(Resolve(table, "DELETE", "/v1/sites/s1/things/t1"),
            "DeleteThing DELETE /v1/sites/{site_id}/things/{thing_id}");
  EXPECT_EQ(Resolve(table, "POST", "/v1/sites/s1/things/t1:resolve"),
            "ResolveThing POST /v1/sites/{site_id}/things/{thing_id}:resolve");
  EXPECT_EQ(Resolve(table, "PUT", "/v1/sites/s1/resolutions/t1"),
            "ResolveThing PUT /v1/sites/{site_id}/resolutions/{thing_id}");
  EXPECT_EQ(Resolve(table, "GET", "/v1/things"), "ListThings GET /v1/things");
  EXPECT_EQ(Resolve(table, "GET", "/v1/sites/s1/files/a/b"),
            "GetFile GET /v1/sites/{site_id}/files/{path=**}");
  // A verb no route has is part of the last segment.
  EXPECT_EQ(Resolve(table, "GET", "/v1/sites/s1/things/t1:peek"),
            "GetThing GET /v1/sites/{site_id}/things/{thing_id}");
}

TEST(RouteTable, TellsWrongMethodFromUnknownPath) {
  const RouteTable table = TestingRoutes();
  EXPECT_EQ(Resolve(table, "PUT", "/v1/sites/s1/things/t1"), "405 GET PATCH DELETE");
  EXPECT_EQ(Resolve(table, "GET", "/v1/sites/s1/things/t1:resolve"),
            "GetThing GET /v1/sites/{site_id}/things/{thing_id}");
  EXPECT_EQ(Resolve(table, "GET", "/v1/sites/s1/echoes"), "405 POST");
  EXPECT_EQ(Resolve(table, "GET", "/v1/nothing"), "404");
  EXPECT_EQ(Resolve(table, "GET", "/v1/sites/s1/things/"), "404");
  EXPECT_EQ(Resolve(table, "GET", "/v2/sites/s1/things/t1"), "404");
}

// A service made of `methods` (text-format MethodDescriptorProtos) in a pool
// that also holds google/api/annotations.proto.
class SyntheticApi {
 public:
  explicit SyntheticApi(const std::string& methods, const std::string& extra_messages = "") {
    for (const pb::FileDescriptorProto& file : ImportsOf("google/api/annotations.proto")) {
      set_.add_file()->CopyFrom(file);
    }
    const std::string text =
        R"pb(
          name: "bad/v1/bad.proto"
          package: "bad.v1"
          syntax: "proto3"
          dependency: "google/api/annotations.proto"
          message_type {
            name: "Req"
            field { name: "site_id" number: 1 type: TYPE_STRING json_name: "siteId" }
            field {
              name: "tags"
              number: 2
              type: TYPE_STRING
              label: LABEL_REPEATED
              json_name: "tags"
            }
            field {
              name: "inner"
              number: 3
              type: TYPE_MESSAGE
              type_name: ".bad.v1.Req"
              json_name: "inner"
            }
          }
          message_type {
            name: "Resp"
            field { name: "n" number: 1 type: TYPE_INT32 json_name: "n" }
          }
        )pb" +
        extra_messages + "service { name: \"BadService\" " + methods + " }";
    pb::FileDescriptorProto* file = set_.add_file();
    if (!pb::TextFormat::ParseFromString(text, file)) ADD_FAILURE() << "bad synthetic proto";
    descriptors_ = BuildDescriptorPool({{"synthetic", set_}});
  }

  RouteTable Build(std::string upstream = "bad") const {
    return RouteTable::Build(descriptors_.services,
                             [&](const pb::ServiceDescriptor&) { return upstream; });
  }

 private:
  // google/api/annotations.proto and its imports, as FileDescriptorProtos.
  static std::vector<pb::FileDescriptorProto> ImportsOf(const std::string& name) {
    std::vector<pb::FileDescriptorProto> out;
    const pb::DescriptorPool& pool = *TestingDescriptors().pool;
    std::function<void(const pb::FileDescriptor*)> add = [&](const pb::FileDescriptor* f) {
      for (const pb::FileDescriptorProto& seen : out) {
        if (seen.name() == f->name()) return;
      }
      for (int i = 0; i < f->dependency_count(); ++i) add(f->dependency(i));
      pb::FileDescriptorProto proto;
      f->CopyTo(&proto);
      out.push_back(proto);
    };
    add(pool.FindFileByName(name));
    return out;
  }

  pb::FileDescriptorSet set_;
  LoadedDescriptors descriptors_;
};

std::string Method(const std::string& name, const std::string& http,
                   const std::string& extra = "") {
  return "method { name: \"" + name +
         "\" input_type: \".bad.v1.Req\" output_type: \".bad.v1.Resp\" " + extra +
         " options { [google.api.http] { " + http + " } } }";
}

std::string BuildError(const SyntheticApi& api, std::string upstream = "bad") {
  try {
    api.Build(upstream);
  } catch (const common::Error& e) {
    EXPECT_EQ(e.reason(), "BAD_ROUTES");
    return e.what();
  }
  return "";
}

TEST(RouteTable, SyntheticApiWithGoodRulesBuilds) {
  const SyntheticApi api(Method("Get", "get: \"/v1/sites/{site_id}\"") +
                         Method("List", "get: \"/v1/sites\""));
  EXPECT_EQ(api.Build().routes().size(), 2u);
}

TEST(RouteTable, AmbiguousRoutesStopTheStartUp) {
  const SyntheticApi api(Method("A", "get: \"/v1/sites/{site_id}\"") +
                         Method("B", "get: \"/v1/sites/{inner.site_id}\""));
  const std::string error = BuildError(api);
  EXPECT_THAT(error, HasSubstr("ambiguous routes"));
  EXPECT_THAT(error, HasSubstr("bad.v1.BadService.A"));
  EXPECT_THAT(error, HasSubstr("bad.v1.BadService.B"));
}

TEST(RouteTable, LiteralVersusVariableIsAmbiguousToo) {
  const SyntheticApi api(Method("A", "get: \"/v1/sites/{site_id}\"") +
                         Method("B", "get: \"/v1/sites/stats\""));
  EXPECT_THAT(BuildError(api), HasSubstr("ambiguous routes"));
}

TEST(RouteTable, EveryBadRuleIsListedInOneMessage) {
  const SyntheticApi api(Method("BadTemplate", "get: \"/v1/{site_id\"") +
                         Method("UnknownVariable", "get: \"/v1/x/{nope}\"") +
                         Method("RepeatedVariable", "get: \"/v1/y/{tags}\"") +
                         Method("MessageVariable", "get: \"/v1/z/{inner}\"") +
                         Method("UnknownBody", "post: \"/v1/w\" body: \"nope\"") +
                         Method("GetWithBody", "get: \"/v1/v\" body: \"*\"") +
                         Method("BadResponseBody", "get: \"/v1/u\" response_body: \"n\"") +
                         Method("Streaming", "get: \"/v1/t\"", "server_streaming: true") +
                         Method("NoPattern", "body: \"*\""));
  const std::string error = BuildError(api);
  EXPECT_THAT(error, HasSubstr("BadService.BadTemplate: path template \"/v1/{site_id\""));
  EXPECT_THAT(error, HasSubstr("BadService.UnknownVariable: path \"/v1/x/{nope}\": variable {nope} "
                               "names no field of bad.v1.Req"));
  EXPECT_THAT(error, HasSubstr("BadService.RepeatedVariable: path \"/v1/y/{tags}\": variable "
                               "{tags} must name a singular scalar field"));
  EXPECT_THAT(error, HasSubstr("BadService.MessageVariable: path \"/v1/z/{inner}\": variable "
                               "{inner} must name a singular scalar field"));
  EXPECT_THAT(error, HasSubstr("BadService.UnknownBody: body \"nope\" names no top-level field"));
  EXPECT_THAT(error, HasSubstr("BadService.GetWithBody: GET \"/v1/v\" cannot have a body"));
  EXPECT_THAT(
      error,
      HasSubstr(
          "BadService.BadResponseBody: response_body \"n\" must name a singular message field"));
  EXPECT_THAT(error, HasSubstr("BadService.Streaming: streaming RPCs cannot be transcoded"));
  EXPECT_THAT(error, HasSubstr("BadService.NoPattern: google.api.http rule without a pattern"));
}

TEST(RouteTable, AServiceWithoutUpstreamStopsTheStartUp) {
  const SyntheticApi api(Method("Get", "get: \"/v1/sites/{site_id}\""));
  EXPECT_THAT(BuildError(api, ""),
              HasSubstr("bad.v1.BadService: no upstream is configured for this service"));
}

TEST(Descriptors, ConflictingCopiesOfAFileAreRejected) {
  pb::FileDescriptorSet a;
  pb::FileDescriptorSet b;
  pb::TextFormat::ParseFromString(R"pb(file {
                                         name: "x.proto"
                                         package: "x"
                                         message_type { name: "M" }
                                       })pb",
                                  &a);
  pb::TextFormat::ParseFromString(R"pb(file {
                                         name: "x.proto"
                                         package: "x"
                                         message_type { name: "N" }
                                       })pb",
                                  &b);
  try {
    BuildDescriptorPool({{"a.pb", a}, {"b.pb", b}});
    ADD_FAILURE() << "built";
  } catch (const common::Error& e) {
    EXPECT_EQ(e.reason(), "BAD_DESCRIPTORS");
    EXPECT_THAT(e.what(), HasSubstr("x.proto differs between a.pb and b.pb"));
  }
  // Identical copies are fine (every set carries google/api/*.proto).
  EXPECT_NO_THROW(BuildDescriptorPool({{"a.pb", a}, {"a2.pb", a}}));
}

TEST(Descriptors, MissingImportsAndFilesAreNamed) {
  pb::FileDescriptorSet set;
  pb::TextFormat::ParseFromString(R"pb(file { name: "y.proto" dependency: "z.proto" })pb", &set);
  try {
    BuildDescriptorPool({{"y.pb", set}});
    ADD_FAILURE() << "built";
  } catch (const common::Error& e) {
    EXPECT_THAT(e.what(), HasSubstr("y.proto imports z.proto, which no descriptor set holds"));
  }
  try {
    LoadDescriptorSets({"/nonexistent/propdesk_x.pb"});
    ADD_FAILURE() << "loaded";
  } catch (const common::Error& e) {
    EXPECT_THAT(e.what(), HasSubstr("/nonexistent/propdesk_x.pb does not exist"));
  }
}

TEST(Descriptors, SetsSharingFilesMergeAndDirectoriesLoadEverySet) {
  const LoadedDescriptors& d = TestingDescriptors();
  std::vector<std::string> services;
  for (const pb::ServiceDescriptor* s : d.services) {
    if (s->file()->package() == "propdesk.testing.v1") services.push_back(s->full_name());
  }
  EXPECT_THAT(services, UnorderedElementsAre("propdesk.testing.v1.EchoService",
                                             "propdesk.testing.v1.TranscodeService"));
  // Source info survives (OpenAPI descriptions come from it).
  pb::SourceLocation location;
  EXPECT_TRUE(
      d.pool->FindMessageTypeByName("propdesk.testing.v1.Thing")->GetSourceLocation(&location));
}

}  // namespace
}  // namespace propdesk::gateway
