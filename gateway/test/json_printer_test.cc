// gateway/json_printer.h writes what protobuf's JSON printer writes: every
// message type of the tickets API and of the transcoding test API, filled
// field by field with awkward values, printed both ways and compared.

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

TEST(JsonPrinterTest, PrintsWhatProtobufPrintsForEveryApiMessage) {
  pb::DynamicMessageFactory factory;
  int compared = 0;
  for (const pb::Descriptor* type : test::ApiMessageTypes()) {
    if (!JsonPrinterSupports(type)) continue;
    for (int seed = 0; seed < 8; ++seed) {
      std::unique_ptr<pb::Message> message(factory.GetPrototype(type)->New());
      if (seed > 0) test::Filler(seed).Fill(message.get(), 0);
      EXPECT_EQ(Ours(*message), Protobuf(*message)) << type->full_name() << " seed " << seed;
      ++compared;
    }
  }
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

}  // namespace
}  // namespace propdesk::gateway
