// gateway/json_parser.h reads what protobuf's JSON parser reads, or leaves
// the text to protobuf: whatever it accepts, protobuf accepts and reads into
// the same message. Checked on every API message type, on hand-picked edge
// cases, and on thousands of randomly damaged bodies.

#include "gateway/json_parser.h"

#include <google/protobuf/descriptor.h>
#include <google/protobuf/descriptor.pb.h>
#include <google/protobuf/dynamic_message.h>
#include <google/protobuf/text_format.h>
#include <google/protobuf/util/json_util.h>
#include <google/protobuf/util/message_differencer.h>
#include <gtest/gtest.h>

#include <memory>
#include <random>
#include <string>
#include <vector>

#include "propdesk/testing/v1/transcode.pb.h"
#include "propdesk/tickets/v1/tickets_service.pb.h"
#include "support/message_filler.h"

namespace propdesk::gateway {
namespace {

namespace pb = google::protobuf;

class JsonParserTest : public ::testing::Test {
 protected:
  std::unique_ptr<pb::Message> New(const pb::Descriptor* type) {
    return std::unique_ptr<pb::Message>(factory_.GetPrototype(type)->New());
  }

  // Whether ParseCommonJson took `json`; when it did, protobuf must accept
  // it too and read the same message.
  bool Agrees(const pb::Descriptor* type, const std::string& json) {
    std::unique_ptr<pb::Message> ours = New(type);
    if (!ParseCommonJson(json, ours.get())) return false;
    std::unique_ptr<pb::Message> theirs = New(type);
    const auto status = pb::util::JsonStringToMessage(json, theirs.get());
    EXPECT_TRUE(status.ok()) << type->full_name() << ": accepted what protobuf refuses ("
                             << status.message() << "): " << json;
    EXPECT_TRUE(pb::util::MessageDifferencer::Equals(*ours, *theirs))
        << type->full_name() << ": read differently from protobuf: " << json
        << "\nours:   " << ours->ShortDebugString() << "\ntheirs: " << theirs->ShortDebugString();
    return true;
  }

  static std::string ProtobufJson(const pb::Message& message, bool proto_names) {
    pb::util::JsonPrintOptions options;
    options.preserve_proto_field_names = proto_names;
    std::string json;
    EXPECT_TRUE(pb::util::MessageToJsonString(message, &json, options).ok());
    return json;
  }

  pb::DynamicMessageFactory factory_;
};

TEST_F(JsonParserTest, ReadsWhatProtobufPrintsForEveryApiMessage) {
  int compared = 0;
  int accepted = 0;
  for (const pb::Descriptor* type : test::ApiMessageTypes()) {
    for (int seed = 0; seed < 8; ++seed) {
      std::unique_ptr<pb::Message> message = New(type);
      if (seed > 0) test::Filler(seed).Fill(message.get(), 0);
      for (const bool proto_names : {false, true}) {
        accepted += Agrees(type, ProtobufJson(*message, proto_names));
        ++compared;
      }
    }
  }
  EXPECT_GT(compared, 400);
  // Many API messages use only the common forms (the others have maps,
  // bytes, timestamps or unknown enum numbers somewhere).
  EXPECT_GT(accepted, compared / 3) << accepted << " of " << compared;
}

TEST_F(JsonParserTest, TakesTheCommonFormsOfRequestBodies) {
  const pb::Descriptor* create = tickets::v1::CreateTicketRequest::descriptor();
  const pb::Descriptor* list = testing::v1::ListThingsRequest::descriptor();
  const pb::Descriptor* thing = testing::v1::Thing::descriptor();
  const std::vector<std::pair<const pb::Descriptor*, std::string>> bodies = {
      {create, R"({"kind":"TICKET_KIND_REPAIR","channel":"TICKET_CHANNEL_PHONE",)"
               R"("category":"TICKET_CATEGORY_FACILITIES_EQUIPMENT","unit":"U-1",)"
               R"("contact":{"name":"Resident","phone":"+86 138 0000 0000"},)"
               R"("description":"Kitchen tap leaking"})"},
      {create, " \n\t{ \"site_id\" : \"S1\" , \"request_id\":\"r-1\" } \r\n"},
      {create,
       R"({"description":"quote\" back\\ slash\/ \b\f\n\r\t \u00e9 \u4e2d \ud83d\udd11 \u0001"})"},
      {create, "{\"description\":\"\xe4\xb8\xad\xe6\x96\x87 \xf0\x9f\x94\x91\"}"},
      {create, R"({"description":"","unit":""})"},
      {create, "{}"},
      {thing, R"({"sizeBytes":"-9007199254740993","tags":[],"urgent":false,"weightKg":-0.0})"},
      {thing, R"({"sizeBytes":9223372036854775807,"weightKg":1.5e3,"state":"THING_STATE_OPEN"})"},
      {thing,
       R"({"weightKg":9007199254740992,"dimensions":{"widthMm":-2147483648,"heightMm":"7"}})"},
      {thing, R"({"weightKg":0.1,"dimensions":{}})"},
      {list, R"({"states":["THING_STATE_OPEN","THING_STATE_RESOLVED"],"tags":["a","b"],)"
             R"("pageSize":50,"filter":{"titlePrefix":"x","minDimensions":{"widthMm":1}}})"},
  };
  for (const auto& [type, json] : bodies) {
    EXPECT_TRUE(Agrees(type, json)) << "left to protobuf: " << json;
  }
}

TEST_F(JsonParserTest, LeavesEverythingElseToProtobuf) {
  const pb::Descriptor* create = tickets::v1::CreateTicketRequest::descriptor();
  const pb::Descriptor* thing = testing::v1::Thing::descriptor();
  const std::vector<std::pair<const pb::Descriptor*, std::string>> bodies = {
      {create, R"({"unit":null})"},                         // null
      {create, R"({"unknownField":1})"},                    // unknown field
      {create, R"({"unit":"a","unit":"b"})"},               // a field twice
      {create, R"({"siteId":"a","site_id":"b"})"},          // twice by both names
      {create, R"({"kind":1})"},                            // enum by number
      {create, R"({"kind":"TICKET_KIND_NOT_A_KIND"})"},     // unknown enum name
      {create, R"({"kind":"ticket_kind_repair"})"},         // case differs
      {create, R"({"unit":"a",})"},                         // trailing comma
      {create, R"({"unit":"a"} x)"},                        // text after the object
      {create, R"({"unit":"a")"},                           // unterminated
      {create, R"(["unit"])"},                              // not an object
      {create, R"({"un\u0069t":"a"})"},                     // escaped key
      {create, R"({"unit":"\ud83d"})"},                     // lone surrogate
      {create, R"({"unit":"\x"})"},                         // bad escape
      {create, "{\"unit\":\"a\x01\"}"},                     // raw control character
      {create, "{\"unit\":\"\xff\"}"},                      // not UTF-8
      {create, R"({"unit":5})"},                            // number for a string
      {thing, R"({"dimensions":{"widthMm":2147483648}})"},  // int32 overflow
      {thing, R"({"dimensions":{"widthMm":1e2}})"},         // exponent for an int
      {thing, R"({"dimensions":{"widthMm":1.0}})"},         // fraction for an int
      {thing, R"({"dimensions":{"widthMm":-0}})"},          // minus zero
      {thing, R"({"dimensions":{"widthMm":01}})"},          // leading zero
      {thing, R"({"dimensions":{"widthMm":" 7"}})"},        // padded quoted int
      {thing, R"({"weightKg":9007199254740993})"},          // inexact as a double
      {thing, R"({"weightKg":1e400})"},                     // overflow
      {thing, R"({"weightKg":"NaN"})"},                     // special value
      {thing, R"({"urgent":"true"})"},                      // quoted bool
      {thing, R"({"tags":"a"})"},                           // scalar for a list
      {thing, R"({"blob":"YWJj"})"},                        // bytes
      {thing, R"({"labels":{"a":"b"}})"},                   // map
      {thing, R"({"dueTime":"2026-11-23T10:00:00Z"})"},     // Timestamp
      {testing::v1::ListThingsRequest::descriptor(), R"({"maxResults":3})"},  // wrapper
  };
  for (const auto& [type, json] : bodies) {
    EXPECT_FALSE(Agrees(type, json)) << "taken, not left to protobuf: " << json;
  }
  std::string deep;
  for (int i = 0; i < 40; ++i) deep += R"({"filter":{"minDimensions":)";
  EXPECT_FALSE(Agrees(testing::v1::ListThingsRequest::descriptor(), deep + "{}"));
}

// A message with a oneof and an explicitly present field, built at run time.
const pb::Descriptor* OneofType(pb::DescriptorPool* pool) {
  pb::FileDescriptorProto file;
  EXPECT_TRUE(pb::TextFormat::ParseFromString(
      R"pb(name: "oneof_test.proto"
           package: "propdesk.test"
           syntax: "proto3"
           message_type {
             name: "Choice"
             field { name: "text" number: 1 type: TYPE_STRING label: LABEL_OPTIONAL oneof_index: 0 }
             field { name: "count" number: 2 type: TYPE_INT32 label: LABEL_OPTIONAL oneof_index: 0 }
             field {
               name: "note"
               number: 3
               type: TYPE_STRING
               label: LABEL_OPTIONAL
               oneof_index: 1
               proto3_optional: true
             }
             oneof_decl { name: "value" }
             oneof_decl { name: "_note" }
           })pb",
      &file));
  const pb::FileDescriptor* built = pool->BuildFile(file);
  return built == nullptr ? nullptr : built->FindMessageTypeByName("Choice");
}

TEST_F(JsonParserTest, OneMemberPerOneofAndPresenceAsProtobufReadsThem) {
  pb::DescriptorPool pool;
  const pb::Descriptor* choice = OneofType(&pool);
  ASSERT_NE(choice, nullptr);
  EXPECT_TRUE(Agrees(choice, R"({"text":""})"));  // the oneof set, to ""
  EXPECT_TRUE(Agrees(choice, R"({"count":0,"note":""})"));
  EXPECT_FALSE(Agrees(choice, R"({"text":"a","count":1})"));
}

// Clears what ParseCommonJson leaves to protobuf (maps, bytes, floats,
// well-known types, enum numbers without a name), so that every JSON of the
// message is one it takes.
void KeepCommonForms(pb::Message* m) {
  const pb::Reflection* r = m->GetReflection();
  std::vector<const pb::FieldDescriptor*> fields;
  r->ListFields(*m, &fields);
  for (const pb::FieldDescriptor* field : fields) {
    const bool unnamed_enum =
        field->enum_type() != nullptr &&
        (field->is_repeated()
             ? field->enum_type()->FindValueByNumber(r->GetRepeatedEnumValue(*m, field, 0)) ==
                   nullptr
             : field->enum_type()->FindValueByNumber(r->GetEnumValue(*m, field)) == nullptr);
    const bool well_known = field->message_type() != nullptr &&
                            field->message_type()->file()->package() == "google.protobuf";
    if (field->is_map() || field->type() == pb::FieldDescriptor::TYPE_BYTES ||
        field->type() == pb::FieldDescriptor::TYPE_FLOAT || well_known || unnamed_enum) {
      r->ClearField(m, field);
    } else if (field->message_type() != nullptr && field->is_repeated()) {
      for (int i = 0; i < r->FieldSize(*m, field); ++i) {
        KeepCommonForms(r->MutableRepeatedMessage(m, field, i));
      }
    } else if (field->message_type() != nullptr) {
      KeepCommonForms(r->MutableMessage(m, field));
    }
  }
}

// Damaged bodies: whatever ParseCommonJson still takes, protobuf must take
// and read the same way.
TEST_F(JsonParserTest, RandomDamageNeverMakesItDisagree) {
  std::mt19937 random(20261123);
  const std::string alphabet = "{}[]\":,\\ -+.0123456789eEtrufalsn/xU_\x01\xc3\xa9\xff";
  std::vector<std::pair<const pb::Descriptor*, std::string>> originals;
  for (const pb::Descriptor* type :
       {tickets::v1::CreateTicketRequest::descriptor(), testing::v1::Thing::descriptor(),
        testing::v1::ListThingsRequest::descriptor(), tickets::v1::Ticket::descriptor()}) {
    for (int seed = 1; seed < 6; ++seed) {
      std::unique_ptr<pb::Message> message = New(type);
      test::Filler(seed).Fill(message.get(), 0);
      KeepCommonForms(message.get());
      originals.emplace_back(type, ProtobufJson(*message, seed % 2 == 0));
      ASSERT_TRUE(Agrees(type, originals.back().second)) << originals.back().second;
    }
  }
  int taken = 0;
  int tried = 0;
  for (const auto& [type, original] : originals) {
    for (int round = 0; round < 300; ++round) {
      std::string json = original;
      const int edits = 1 + static_cast<int>(random() % 3);
      for (int e = 0; e < edits && !json.empty(); ++e) {
        const size_t at = random() % json.size();
        const char c = alphabet[random() % alphabet.size()];
        switch (random() % 3) {
          case 0:
            json.erase(at, 1);
            break;
          case 1:
            json.insert(at, 1, c);
            break;
          default:
            json[at] = c;
        }
      }
      taken += Agrees(type, json);
      ++tried;
    }
  }
  EXPECT_EQ(tried, 6000);
  // Many damaged bodies are still valid JSON of the message (a changed
  // letter inside a string), so the comparison is not empty.
  EXPECT_GT(taken, 300) << taken << " of " << tried;
}

}  // namespace
}  // namespace propdesk::gateway
