// gateway/json_printer.h writes what protobuf's JSON printer writes: every
// message type of the tickets API and of the transcoding test API, filled
// field by field with awkward values, printed both ways and compared; from
// the wire too, where anything but canonical bytes must be left to the parse.

#include "gateway/json_printer.h"

#include <google/protobuf/descriptor.h>
#include <google/protobuf/duration.pb.h>
#include <google/protobuf/dynamic_message.h>
#include <google/protobuf/empty.pb.h>
#include <google/protobuf/field_mask.pb.h>
#include <google/protobuf/struct.pb.h>
#include <google/protobuf/timestamp.pb.h>
#include <google/protobuf/util/json_util.h>
#include <google/protobuf/wrappers.pb.h>
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "common/errors.h"
#include "propdesk/tickets/v1/tickets_service.pb.h"
#include "support/message_filler.h"

namespace propdesk::gateway {
namespace {

namespace pb = google::protobuf;
using FD = pb::FieldDescriptor;

std::string Protobuf(const pb::Message& message) {
  std::string json;
  EXPECT_TRUE(pb::util::MessageToJsonString(message, &json).ok());
  return json;
}

std::string Ours(const pb::Message& message) {
  std::string json;
  PrintJson(message, &json);
  return json;
}

// Runs `check(message, seed)` on every API message type `supported`
// accepts, empty (seed 0) and filled with seeds 1-7; returns how many.
template <class Check>
int ForEveryApiMessage(bool (*supported)(const pb::Descriptor*), Check check) {
  pb::DynamicMessageFactory factory;
  int checked = 0;
  for (const pb::Descriptor* type : test::ApiMessageTypes()) {
    if (!supported(type)) continue;
    for (int seed = 0; seed < 8; ++seed) {
      std::unique_ptr<pb::Message> message(factory.GetPrototype(type)->New());
      if (seed > 0) test::Filler(seed).Fill(message.get(), 0);
      check(*message, seed);
      ++checked;
    }
  }
  return checked;
}

TEST(JsonPrinterTest, PrintsWhatProtobufPrintsForEveryApiMessage) {
  const int compared =
      ForEveryApiMessage(JsonPrinterSupports, [](const pb::Message& message, int seed) {
        EXPECT_EQ(Ours(message), Protobuf(message))
            << message.GetDescriptor()->full_name() << " seed " << seed;
      });
  EXPECT_GT(compared, 200);
}

TEST(JsonPrinterTest, SpecialValuesAsProtobufWritesThem) {
  pb::DoubleValue d;
  for (double v : {std::nan(""), -std::numeric_limits<double>::infinity(), 1e300, 5e-324}) {
    d.set_value(v);
    EXPECT_EQ(Ours(d), Protobuf(d));
  }
  pb::Duration duration;
  duration.set_nanos(-1000);
  EXPECT_EQ(Ours(duration), "\"-0.000001s\"");
  pb::Timestamp epoch;
  EXPECT_EQ(Ours(epoch), "\"1970-01-01T00:00:00Z\"");
}

TEST(JsonPrinterTest, TimestampsFromYearOneToYear9999AsProtobufWritesThem) {
  pb::Timestamp t;
  const int64_t kSeconds[] = {-62135596800, -62135596799, -2208988800, -86401,      -86400, -1, 0,
                              951782400,    1709164800,   4107542399,  253402300799};
  const int32_t kNanos[] = {0, 1, 1000, 1000000, 999999999};
  for (const int64_t seconds : kSeconds) {
    for (const int32_t nanos : kNanos) {
      t.set_seconds(seconds);
      t.set_nanos(nanos);
      EXPECT_EQ(Ours(t), Protobuf(t)) << seconds << " s " << nanos << " ns";
    }
  }
  t.set_seconds(951782400);  // 2000-02-29, a leap day of a century
  t.set_nanos(0);
  EXPECT_EQ(Ours(t), "\"2000-02-29T00:00:00Z\"");
}

TEST(JsonPrinterTest, FieldMaskPathsAsProtobufWritesThem) {
  pb::FieldMask mask;
  for (const char* path :
       {"due_time", "contact.phone_number", "a_b_c", "_leading", "trailing_", "double__underscore",
        "Zabels.site_code", "HTTPServer", "aB", "ABc", "x_1y", "_aBc", "ticket.UPPER_case",
        "v2_api", "", "_", "a..b", "a._b"}) {
    mask.clear_paths();
    mask.add_paths(path);
    mask.add_paths("site_id");
    EXPECT_EQ(Ours(mask), Protobuf(mask)) << path;
  }
}

TEST(JsonPrinterTest, ADurationProtobufRefusesIsRefused) {
  pb::Duration d;
  for (const auto& [seconds, nanos] : {std::pair<int64_t, int32_t>{315576000001, 0},
                                       {-315576000001, 0},
                                       {0, 1000000000},
                                       {0, -1000000000},
                                       {-1, 1}}) {
    d.set_seconds(seconds);
    d.set_nanos(nanos);
    std::string json;
    EXPECT_FALSE(pb::util::MessageToJsonString(d, &json).ok()) << seconds << " s " << nanos;
    EXPECT_THROW(Ours(d), common::Error) << seconds << " s " << nanos << " ns";
  }
  for (const auto& [seconds, nanos] : {std::pair<int64_t, int32_t>{-315576000000, -999999999},
                                       {315576000000, 999999999},
                                       {0, -1},
                                       {-1, 0}}) {
    d.set_seconds(seconds);
    d.set_nanos(nanos);
    EXPECT_EQ(Ours(d), Protobuf(d)) << seconds << " s " << nanos << " ns";
  }
  // Parts of opposite signs break Duration's rule; protobuf prints this one
  // as "1.294967295s", which is no duration at all.
  d.set_seconds(1);
  d.set_nanos(-1);
  EXPECT_THROW(Ours(d), common::Error);
}

TEST(JsonPrinterTest, ATimestampProtobufRefusesIsRefused) {
  pb::Timestamp t;
  std::string json;
  for (const auto& [seconds, nanos] : {std::pair<int64_t, int32_t>{-62135596801, 0},
                                       {253402300800, 0},
                                       {0, -1},
                                       {0, 1000000000}}) {
    t.set_seconds(seconds);
    t.set_nanos(nanos);
    EXPECT_FALSE(pb::util::MessageToJsonString(t, &json).ok()) << seconds << " s " << nanos;
    EXPECT_THROW(Ours(t), common::Error) << seconds << " s " << nanos << " ns";
  }
}

TEST(JsonPrinterTest, LeavesTypesItCannotPrintToProtobuf) {
  EXPECT_FALSE(JsonPrinterSupports(pb::Struct::descriptor()));
  EXPECT_FALSE(JsonPrinterSupports(pb::Value::descriptor()));
  EXPECT_TRUE(JsonPrinterSupports(tickets::v1::ListTicketsResponse::descriptor()));
}

// What the message path makes of `wire`: protobuf's JSON of the parsed
// message, or nullopt when the bytes do not parse or protobuf refuses them.
std::optional<std::string> ParsedThenPrinted(const pb::Descriptor* type, const std::string& wire) {
  pb::DynamicMessageFactory factory;
  std::unique_ptr<pb::Message> message(factory.GetPrototype(type)->New());
  if (!message->ParseFromString(wire)) return std::nullopt;
  std::string json;
  if (!pb::util::MessageToJsonString(*message, &json).ok()) return std::nullopt;
  return json;
}

// PrintJsonFromWire's output, nullopt when it left the bytes to the parse.
// A refused value (a Timestamp out of range) throws, as PrintJson does.
std::optional<std::string> FromWire(const pb::Descriptor* type, const std::string& wire) {
  std::string json = "prefix ";
  if (!PrintJsonFromWire(type, wire, &json)) {
    EXPECT_EQ(json, "prefix ") << "nothing is left behind when the walk gives up";
    return std::nullopt;
  }
  EXPECT_EQ(json.rfind("prefix ", 0), 0u) << "appended";
  return json.substr(7);
}

TEST(JsonPrinterTest, PrintsFromWireWhatProtobufPrintsForEveryApiMessage) {
  const int compared =
      ForEveryApiMessage(WireJsonPrinterSupports, [](const pb::Message& message, int seed) {
        EXPECT_EQ(FromWire(message.GetDescriptor(), message.SerializeAsString()), Protobuf(message))
            << message.GetDescriptor()->full_name() << " seed " << seed;
      });
  EXPECT_GT(compared, 200);
}

TEST(JsonPrinterTest, FromWireLeavesMapsAndUnprintableTypesToTheParse) {
  EXPECT_FALSE(WireJsonPrinterSupports(pb::Struct::descriptor()));
  EXPECT_TRUE(WireJsonPrinterSupports(tickets::v1::ListTicketsResponse::descriptor()));
  int with_maps = 0;
  for (const pb::Descriptor* type : test::ApiMessageTypes()) {
    for (int i = 0; i < type->field_count(); ++i) {
      if (!type->field(i)->is_map()) continue;
      EXPECT_FALSE(WireJsonPrinterSupports(type)) << type->full_name();
      ++with_maps;
      break;
    }
  }
  EXPECT_GT(with_maps, 0) << "the test API has a map field to check this with";
}

// A field's tag as protobuf encodes it (a varint).
std::string Tag(int number, int wire_type) {
  std::string out;
  for (uint32_t v = static_cast<uint32_t>(number) << 3 | static_cast<uint32_t>(wire_type);;
       v >>= 7) {
    out.push_back(static_cast<char>(v < 0x80 ? v : (v & 0x7f) | 0x80));
    if (v < 0x80) return out;
  }
}

// Bytes protobuf's serializers never write: the walk gives up on them, and
// whatever it does print is what the parse would make of them.
TEST(JsonPrinterTest, FromWireGivesUpOnBytesThatAreNotCanonical) {
  const pb::Descriptor* type = tickets::v1::Ticket::descriptor();
  tickets::v1::Ticket low;  // unit and description: low and high field numbers
  low.set_unit("7-0707");
  tickets::v1::Ticket high;
  high.set_description("Kitchen tap leaking");
  ASSERT_LT(type->FindFieldByName("unit")->number(),
            type->FindFieldByName("description")->number());
  const std::string low_wire = low.SerializeAsString();
  const std::string high_wire = high.SerializeAsString();
  // In order: printed. Out of order, or a singular field twice (the parse
  // merges: last one wins): left to the parse.
  EXPECT_EQ(FromWire(type, low_wire + high_wire), ParsedThenPrinted(type, low_wire + high_wire));
  EXPECT_EQ(FromWire(type, high_wire + low_wire), std::nullopt);
  EXPECT_EQ(FromWire(type, low_wire + low_wire), std::nullopt);
  // Truncated, or a string that is not UTF-8 (which the parse refuses).
  EXPECT_EQ(FromWire(type, low_wire.substr(0, low_wire.size() - 1)), std::nullopt);
  tickets::v1::Ticket bad_text;
  bad_text.set_unit("7-0707");
  std::string bad_wire = bad_text.SerializeAsString();
  bad_wire.back() = '\xff';
  EXPECT_EQ(FromWire(type, bad_wire), std::nullopt);
  EXPECT_EQ(ParsedThenPrinted(type, bad_wire), std::nullopt);
  // The field's number with another wire type (varint for a string).
  const std::string wrong_type = Tag(type->FindFieldByName("unit")->number(), 0) + '\x01';
  EXPECT_EQ(FromWire(type, wrong_type), std::nullopt);
}

TEST(JsonPrinterTest, FromWireSkipsUnknownFieldsAndExplicitDefaultsAsTheParseDoes) {
  const pb::Descriptor* type = tickets::v1::Ticket::descriptor();
  tickets::v1::Ticket ticket;
  ticket.set_unit("7-0707");
  // The description set to "" explicitly (after the unit, in order), then
  // field 1999, unknown to Ticket: proto3 prints neither.
  std::string wire = ticket.SerializeAsString();
  wire += Tag(type->FindFieldByName("description")->number(), 2) + '\0';
  wire += Tag(1999, 0) + '\x05';
  EXPECT_EQ(FromWire(type, wire), ParsedThenPrinted(type, wire));
  EXPECT_EQ(FromWire(type, wire), Protobuf(ticket));
}

// The property behind every case above, over random damage to real
// messages: whenever the walk prints, it prints what the parse would.
TEST(JsonPrinterTest, FromWireNeverDisagreesWithTheParseOnDamagedBytes) {
  pb::DynamicMessageFactory factory;
  std::mt19937 random(20261123);
  int printed = 0;
  int left = 0;
  for (const pb::Descriptor* type : test::ApiMessageTypes()) {
    if (!WireJsonPrinterSupports(type)) continue;
    std::unique_ptr<pb::Message> message(factory.GetPrototype(type)->New());
    test::Filler(3).Fill(message.get(), 0);
    const std::string wire = message->SerializeAsString();
    if (wire.empty()) continue;
    for (int round = 0; round < 40; ++round) {
      std::string damaged = wire;
      switch (round % 3) {
        case 0:  // a byte changed
          damaged[random() % damaged.size()] = static_cast<char>(random());
          break;
        case 1:  // cut short
          damaged.resize(random() % damaged.size());
          break;
        default:  // a piece of itself appended
          damaged += wire.substr(random() % wire.size());
      }
      std::optional<std::string> ours;
      try {
        ours = FromWire(type, damaged);
      } catch (const common::Error&) {
        // Refused (a Timestamp or Duration out of range): the message path
        // refuses the parsed message too.
        std::unique_ptr<pb::Message> parsed(factory.GetPrototype(type)->New());
        ASSERT_TRUE(parsed->ParseFromString(damaged));
        EXPECT_THROW(Ours(*parsed), common::Error);
        continue;
      }
      if (!ours) {
        ++left;
        continue;
      }
      ++printed;
      EXPECT_EQ(ours, ParsedThenPrinted(type, damaged)) << type->full_name() << " round " << round;
    }
  }
  EXPECT_GT(printed, 100);
  EXPECT_GT(left, 100);
}

}  // namespace
}  // namespace propdesk::gateway
