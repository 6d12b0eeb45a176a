// Transcoding golden cases: HTTP request → the exact upstream message, and
// upstream bytes → the exact JSON, for every shape of google.api.http rule
// in TranscodeService.

#include "gateway/transcoder.h"

#include <gmock/gmock.h>
#include <google/protobuf/text_format.h>
#include <google/protobuf/util/message_differencer.h>
#include <gtest/gtest.h>

#include "common/errors.h"
#include "gateway/descriptors.h"
#include "propdesk/testing/v1/echo.pb.h"
#include "propdesk/testing/v1/transcode.pb.h"
#include "support/test_descriptors.h"

namespace propdesk::gateway {
namespace {

namespace pb = google::protobuf;
namespace v1 = ::propdesk::testing::v1;
using ::testing::HasSubstr;

class TranscoderTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    descriptors_ = new LoadedDescriptors(LoadDescriptorSets(test::TestingDescriptors()));
    routes_ =
        new RouteTable(RouteTable::Build(descriptors_->services, [](const pb::ServiceDescriptor&) {
          return std::string("testing");
        }));
    transcoder_ = new Transcoder(descriptors_->pool.get(), TranscodeLimits{100});
  }
  static void TearDownTestSuite() {
    delete transcoder_;
    delete routes_;
    delete descriptors_;
  }

  // Transcodes and parses the result as M (the generated class).
  template <class M>
  M Upstream(const std::string& method, const std::string& target, const std::string& body = "",
             const std::string& idempotency_key = "", UpstreamRequest* raw = nullptr) {
    const std::string path = target.substr(0, target.find('?'));
    const std::string query =
        target.find('?') == std::string::npos ? "" : target.substr(target.find('?') + 1);
    RouteTable::Match match = routes_->Find(method, path);
    if (match.route == nullptr) throw std::runtime_error("no route for " + method + " " + path);
    EXPECT_EQ(match.route->method->input_type()->full_name(), M::descriptor()->full_name());
    UpstreamRequest up =
        transcoder_->ToUpstream(*match.route, match.bindings, query, body, idempotency_key);
    M message;
    EXPECT_TRUE(message.ParseFromString(up.binary));
    if (raw != nullptr) *raw = up;
    return message;
  }

  // The common::Error a request fails with.
  common::Error Failure(const std::string& method, const std::string& target,
                        const std::string& body = "", const std::string& idempotency_key = "") {
    try {
      const std::string path = target.substr(0, target.find('?'));
      const std::string query =
          target.find('?') == std::string::npos ? "" : target.substr(target.find('?') + 1);
      RouteTable::Match match = routes_->Find(method, path);
      if (match.route == nullptr) throw std::runtime_error("no route");
      transcoder_->ToUpstream(*match.route, match.bindings, query, body, idempotency_key);
    } catch (const common::Error& e) {
      return e;
    }
    ADD_FAILURE() << method << " " << target << " " << body << " was accepted";
    return common::Internal("accepted");
  }

  template <class M>
  static M Text(const std::string& text) {
    M message;
    EXPECT_TRUE(pb::TextFormat::ParseFromString(text, &message)) << text;
    return message;
  }

  template <class M>
  static void ExpectEq(const M& actual, const std::string& expected_text) {
    const M expected = Text<M>(expected_text);
    EXPECT_TRUE(pb::util::MessageDifferencer::Equals(actual, expected))
        << "actual:\n"
        << actual.DebugString() << "expected:\n"
        << expected.DebugString();
  }

  const Route& RouteOf(const std::string& method, const std::string& path) {
    return *routes_->Find(method, path).route;
  }

  static LoadedDescriptors* descriptors_;
  static RouteTable* routes_;
  static Transcoder* transcoder_;
};

LoadedDescriptors* TranscoderTest::descriptors_ = nullptr;
RouteTable* TranscoderTest::routes_ = nullptr;
Transcoder* TranscoderTest::transcoder_ = nullptr;

TEST_F(TranscoderTest, BodyStarTakesTheWholeMessageAndPathWins) {
  UpstreamRequest raw;
  const auto echo = Upstream<v1::EchoRequest>(
      "POST", "/v1/sites/s1/echoes",
      R"({"message":"hi","siteId":"s9","failWith":0,"request_id":"r1"})", "", &raw);
  ExpectEq(echo, R"pb(site_id: "s1" message: "hi" request_id: "r1")pb");
  EXPECT_EQ(raw.site_id, "s1");
  EXPECT_EQ(raw.request_id, "r1");
}

TEST_F(TranscoderTest, PathVariablesAreDecoded) {
  ExpectEq(Upstream<v1::GetThingRequest>("GET", "/v1/sites/s1/things/t%2F1%20a"),
           R"pb(site_id: "s1" thing_id: "t/1 a")pb");
}

TEST_F(TranscoderTest, QueryParametersFillScalarsRepeatedNestedEnumsAndWellKnownTypes) {
  const auto list = Upstream<v1::ListThingsRequest>(
      "GET",
      "/v1/sites/s1/things?page_size=10&pageToken=abc%3D&tags=a&tags=b+c&states=THING_STATE_OPEN"
      "&states=2&filter.titlePrefix=Leak&filter.min_dimensions.widthMm=5"
      "&filter.dueBefore=2024-02-14T08%3A30%3A00Z&includeDeleted=true"
      "&minSizeBytes=9007199254740993&minWeightKg=1.5&maxResults=0");
  ExpectEq(list, R"pb(
    site_id: "s1"
    page_size: 10
    page_token: "abc="
    tags: "a"
    tags: "b c"
    states: THING_STATE_OPEN
    states: THING_STATE_RESOLVED
    filter {
      title_prefix: "Leak"
      min_dimensions { width_mm: 5 }
      due_before { seconds: 1707899400 }
    }
    include_deleted: true
    min_size_bytes: 9007199254740993
    min_weight_kg: 1.5
    max_results { value: 0 }
  )pb");
  EXPECT_TRUE(list.has_max_results()) << "a wrapper set to zero is present";
}

TEST_F(TranscoderTest, FieldMaskFromTheQuery) {
  ExpectEq(Upstream<v1::GetThingRequest>("GET", "/v1/sites/s1/things/t1?readMask=title,sizeBytes"),
           R"pb(site_id: "s1"
                thing_id: "t1"
                read_mask { paths: "title" paths: "size_bytes" })pb");
}

TEST_F(TranscoderTest, AdditionalBindingTakesTheSiteFromTheQuery) {
  UpstreamRequest raw;
  ExpectEq(Upstream<v1::ListThingsRequest>("GET", "/v1/things?siteId=s2", "", "", &raw),
           R"pb(site_id: "s2")pb");
  EXPECT_EQ(raw.site_id, "s2");
}

TEST_F(TranscoderTest, BodyFieldGoesIntoThatFieldAndTheRestFromPathAndQuery) {
  UpstreamRequest raw;
  const auto update = Upstream<v1::UpdateThingRequest>(
      "PATCH", "/v1/sites/s1/things/t1?updateMask=title,dueTime",
      R"({"title":"New","siteId":"elsewhere","sizeBytes":"12","dueTime":"2024-02-14T08:30:00Z",
          "labels":{"floor":"3"},"blob":"aGk=","state":"THING_STATE_RESOLVED"})",
      "key-1", &raw);
  ExpectEq(update, R"pb(
    thing {
      site_id: "s1"
      thing_id: "t1"
      title: "New"
      size_bytes: 12
      due_time { seconds: 1707899400 }
      labels { key: "floor" value: "3" }
      blob: "hi"
      state: THING_STATE_RESOLVED
    }
    update_mask { paths: "title" paths: "due_time" }
    request_id: "key-1"
  )pb");
  EXPECT_EQ(raw.site_id, "s1") << "the site of a nested path variable";
}

TEST_F(TranscoderTest, DeleteTakesQueryAndIdempotencyKey) {
  ExpectEq(Upstream<v1::DeleteThingRequest>("DELETE", "/v1/sites/s1/things/t1?expectedVersion=3",
                                            "", "k-9"),
           R"pb(site_id: "s1" thing_id: "t1" expected_version: 3 request_id: "k-9")pb");
}

TEST_F(TranscoderTest, CustomVerbAndItsAdditionalBinding) {
  ExpectEq(Upstream<v1::ResolveThingRequest>("POST", "/v1/sites/s1/things/t1:resolve",
                                             R"({"resolutionNote":"fixed"})"),
           R"pb(site_id: "s1" thing_id: "t1" resolution_note: "fixed")pb");
  ExpectEq(Upstream<v1::ResolveThingRequest>("PUT", "/v1/sites/s2/resolutions/t2",
                                             R"({"resolutionNote":"x"})"),
           R"pb(site_id: "s2" thing_id: "t2" resolution_note: "x")pb");
}

TEST_F(TranscoderTest, MultiSegmentAndDoubleStarVariables) {
  UpstreamRequest raw;
  ExpectEq(Upstream<v1::GetThingHistoryRequest>("GET", "/v1/sites/s1/things/t1/history?pageSize=5",
                                                "", "", &raw),
           R"pb(name: "sites/s1/things/t1" page_size: 5)pb");
  ExpectEq(Upstream<v1::GetFileRequest>("GET", "/v1/sites/s1/files/a/b%20c/d.txt"),
           R"pb(site_id: "s1" path: "a/b c/d.txt")pb");
}

TEST_F(TranscoderTest, PageSizeAboveTheLimitIsLowered) {
  EXPECT_EQ(Upstream<v1::ListThingsRequest>("GET", "/v1/sites/s1/things?pageSize=5000").page_size(),
            100);
  EXPECT_EQ(Upstream<v1::ListThingsRequest>("GET", "/v1/sites/s1/things?pageSize=7").page_size(),
            7);
}

TEST_F(TranscoderTest, UnknownBodyFieldIsRejectedByName) {
  const common::Error e =
      Failure("POST", "/v1/sites/s1/echoes", R"({"message":"x","colour":"red"})");
  EXPECT_EQ(e.kind(), common::ErrorKind::kInvalidArgument);
  EXPECT_EQ(e.reason(), "UNKNOWN_FIELD");
  EXPECT_THAT(e.what(), HasSubstr("\"colour\""));
  EXPECT_EQ(e.metadata().at("field"), "colour");
  // Nested unknown fields too.
  const common::Error nested =
      Failure("PATCH", "/v1/sites/s1/things/t1", R"({"dimensions":{"depthMm":1}})");
  EXPECT_EQ(nested.reason(), "UNKNOWN_FIELD");
  EXPECT_THAT(nested.what(), HasSubstr("depthMm"));
  EXPECT_EQ(nested.metadata().at("field"), "dimensions.depthMm") << "the path in the body";
}

TEST_F(TranscoderTest, MalformedBodiesAreRejected) {
  EXPECT_EQ(Failure("POST", "/v1/sites/s1/echoes", R"({"message":)").reason(), "INVALID_JSON");
  EXPECT_EQ(Failure("POST", "/v1/sites/s1/echoes", R"([1,2])").reason(), "INVALID_JSON");
  EXPECT_EQ(Failure("POST", "/v1/sites/s1/echoes", R"({"failWith":"many"})").reason(),
            "INVALID_JSON");
  EXPECT_EQ(Failure("GET", "/v1/sites/s1/things/t1", R"({"x":1})").reason(), "BODY_NOT_ALLOWED");
  // A body field's JSON cannot reach beyond that field.
  EXPECT_EQ(Failure("PATCH", "/v1/sites/s1/things/t1", R"({"title":"x"},"requestId":"smuggled")")
                .reason(),
            "INVALID_JSON");
}

TEST_F(TranscoderTest, BadQueryParametersAreRejectedByName) {
  auto expect = [&](const std::string& target, const std::string& reason,
                    const std::string& field) {
    const common::Error e = Failure("GET", target);
    EXPECT_EQ(e.reason(), reason) << target;
    EXPECT_EQ(e.metadata().count("field") ? e.metadata().at("field") : "", field) << target;
    EXPECT_THAT(e.what(), HasSubstr(field)) << target;
  };
  expect("/v1/sites/s1/things?colour=red", "UNKNOWN_QUERY_PARAMETER", "colour");
  expect("/v1/sites/s1/things?filter.nope=1", "UNKNOWN_QUERY_PARAMETER", "filter.nope");
  expect("/v1/sites/s1/things?pageSize=ten", "INVALID_QUERY_PARAMETER", "pageSize");
  expect("/v1/sites/s1/things?pageSize=99999999999", "INVALID_QUERY_PARAMETER", "pageSize");
  expect("/v1/sites/s1/things?states=THING_STATE_GONE", "INVALID_QUERY_PARAMETER", "states");
  expect("/v1/sites/s1/things?includeDeleted=yes", "INVALID_QUERY_PARAMETER", "includeDeleted");
  expect("/v1/sites/s1/things?filter=x", "INVALID_QUERY_PARAMETER", "filter");
  expect("/v1/sites/s1/things?filter.dueBefore=yesterday", "INVALID_QUERY_PARAMETER",
         "filter.dueBefore");
  expect("/v1/sites/s1/things?siteId=s2", "QUERY_PARAMETER_NOT_ALLOWED", "siteId");
  expect("/v1/sites/s1/things?tags=%ZZ", "INVALID_QUERY_PARAMETER", "");
  const common::Error star = Failure("POST", "/v1/sites/s1/echoes?message=x", "{}");
  EXPECT_EQ(star.reason(), "QUERY_PARAMETER_NOT_ALLOWED");
  const common::Error body_field = Failure("PATCH", "/v1/sites/s1/things/t1?thing.title=x", "{}");
  EXPECT_EQ(body_field.reason(), "QUERY_PARAMETER_NOT_ALLOWED");
}

TEST_F(TranscoderTest, IdempotencyKeyNeedsARequestIdAndMustAgreeWithTheBody) {
  const common::Error unsupported = Failure("GET", "/v1/sites/s1/things/t1", "", "k1");
  EXPECT_EQ(unsupported.reason(), "IDEMPOTENCY_KEY_NOT_SUPPORTED");
  const common::Error mismatch =
      Failure("POST", "/v1/sites/s1/echoes", R"({"requestId":"a"})", "b");
  EXPECT_EQ(mismatch.reason(), "IDEMPOTENCY_KEY_MISMATCH");
  // The same value in both places is fine.
  EXPECT_EQ(Upstream<v1::EchoRequest>("POST", "/v1/sites/s1/echoes", R"({"requestId":"a"})", "a")
                .request_id(),
            "a");
}

TEST_F(TranscoderTest, ResponseJsonUsesTheProto3Mapping) {
  v1::GetThingResponse response = Text<v1::GetThingResponse>(R"pb(
    request { site_id: "s1" thing_id: "t1" }
    thing {
      site_id: "s1"
      thing_id: "t1"
      title: "Tap"
      size_bytes: 9007199254740993
      tags: "a"
      tags: "b"
      state: THING_STATE_OPEN
      due_time { seconds: 1707899400 }
      dimensions { width_mm: 120 }
      labels { key: "floor" value: "3" }
      urgent: true
      weight_kg: 1.5
      blob: "hi"
    }
  )pb");
  EXPECT_EQ(
      transcoder_->ToJson(RouteOf("GET", "/v1/sites/s1/things/t1"), response.SerializeAsString()),
      R"({"request":{"siteId":"s1","thingId":"t1"},)"
      R"("thing":{"siteId":"s1","thingId":"t1","title":"Tap","sizeBytes":"9007199254740993",)"
      R"("tags":["a","b"],"state":"THING_STATE_OPEN","dueTime":"2024-02-14T08:30:00Z",)"
      R"("dimensions":{"widthMm":120},"labels":{"floor":"3"},"urgent":true,"weightKg":1.5,)"
      R"("blob":"aGk="}})");
}

TEST_F(TranscoderTest, ResponseBodySelectsOneField) {
  v1::GetThingHistoryResponse response =
      Text<v1::GetThingHistoryResponse>(R"pb(history { entries: "opened" }
                                             hidden: "internal")pb");
  EXPECT_EQ(transcoder_->ToJson(RouteOf("GET", "/v1/sites/s1/things/t1/history"),
                                response.SerializeAsString()),
            R"({"entries":["opened"]})");
}

TEST_F(TranscoderTest, UnreadableUpstreamBytesAreAnInternalError) {
  try {
    // Field 1 (request) claims 5 bytes, 2 follow.
    const std::string json =
        transcoder_->ToJson(RouteOf("GET", "/v1/sites/s1/things/t1"), std::string("\x0a\x05"
                                                                                  "ab",
                                                                                  4));
    ADD_FAILURE() << "converted to "
                  << json;  // protobuf's JSON conversion alone gives {"request":{}}
  } catch (const common::Error& e) {
    EXPECT_EQ(e.kind(), common::ErrorKind::kInternal);
  }
}

TEST(Utf8, ValidatesEncodings) {
  EXPECT_TRUE(IsValidUtf8("plain"));
  EXPECT_TRUE(IsValidUtf8("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80"));
  EXPECT_FALSE(IsValidUtf8("\xc3"));
  EXPECT_FALSE(IsValidUtf8("\xc0\xaf"));      // overlong '/'
  EXPECT_FALSE(IsValidUtf8("\xed\xa0\x80"));  // surrogate
  EXPECT_FALSE(IsValidUtf8("\xff"));
}

}  // namespace
}  // namespace propdesk::gateway
