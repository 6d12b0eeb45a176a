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

#include "propdesk/testing/v1/transcode.pb.h"
#include "propdesk/tickets/v1/tickets_service.pb.h"

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

// Deterministic awkward values, varied by `seed`.
class Filler {
 public:
  explicit Filler(int seed) : seed_(seed) {}

  void Fill(pb::Message* m, int depth) {
    const pb::Descriptor* d = m->GetDescriptor();
    const pb::Reflection* r = m->GetReflection();
    if (d->full_name() == "google.protobuf.Timestamp") {
      r->SetInt64(m, d->FindFieldByName("seconds"), 1700000000 + seed_ * 86399);
      static const int kNanos[] = {0, 5000000, 123456000, 123456789};
      r->SetInt32(m, d->FindFieldByName("nanos"), kNanos[seed_ % 4]);
      return;
    }
    if (d->full_name() == "google.protobuf.Duration") {
      const bool negative = seed_ % 2 == 1;
      r->SetInt64(m, d->FindFieldByName("seconds"), negative ? -seed_ : seed_ * 60);
      r->SetInt32(m, d->FindFieldByName("nanos"), negative ? -500000000 : 1000 * seed_);
      return;
    }
    if (d->full_name() == "google.protobuf.FieldMask") {
      r->AddString(m, d->FindFieldByName("paths"), "due_time");
      r->AddString(m, d->FindFieldByName("paths"), "labels.site_code");
      return;
    }
    for (int i = 0; i < d->field_count(); ++i) {
      const FD* field = d->field(i);
      // Leave some fields unset, differently per seed (oneofs: one member).
      if ((i + seed_) % 5 == 4) continue;
      if (field->real_containing_oneof() != nullptr &&
          r->HasOneof(*m, field->real_containing_oneof())) {
        continue;
      }
      if (field->is_map()) {
        pb::Message* entry = r->AddMessage(m, field);  // one entry: map order is unspecified
        SetSingle(entry, entry->GetDescriptor()->map_key(), depth);
        SetSingle(entry, entry->GetDescriptor()->map_value(), depth);
      } else if (field->is_repeated()) {
        for (int k = 0; k < 2; ++k) AddRepeated(m, field, depth, k);
      } else {
        SetSingle(m, field, depth);
      }
    }
  }

 private:
  std::string Text(int k) const {
    static const char* kTexts[] = {
        "plain", "quote\" back\\slash /<tag> & 'x'", "ctrl\x01\x1f\x7f tab\t nl\n cr\r bs\b ff\f",
        "\xe4\xb8\xad\xe6\x96\x87 \xe2\x80\xa8 \xe2\x80\xa9 \xf0\x9f\x94\x91", ""};
    return kTexts[(seed_ + k) % 5];
  }
  double Double(int k) const {
    static const double kValues[] = {0.1,
                                     1e21,
                                     1.0 / 3,
                                     -0.0,
                                     123456789012345678.0,
                                     2.5,
                                     1e-7,
                                     std::numeric_limits<double>::infinity()};
    return kValues[(seed_ + k) % 8];
  }

  void SetSingle(pb::Message* m, const FD* field, int depth) {
    const pb::Reflection* r = m->GetReflection();
    const int k = field->number();
    switch (field->cpp_type()) {
      case FD::CPPTYPE_INT32:
        r->SetInt32(m, field, (seed_ % 2 ? -1 : 1) * (k * 1000 + seed_));
        break;
      case FD::CPPTYPE_UINT32:
        r->SetUInt32(m, field, 4000000000u - seed_);
        break;
      case FD::CPPTYPE_INT64:
        r->SetInt64(m, field, (seed_ % 2 ? -1 : 1) * (int64_t{1} << 53) - k);
        break;
      case FD::CPPTYPE_UINT64:
        r->SetUInt64(m, field, ~uint64_t{0} - seed_);
        break;
      case FD::CPPTYPE_DOUBLE:
        r->SetDouble(m, field, Double(k));
        break;
      case FD::CPPTYPE_FLOAT:
        r->SetFloat(m, field, static_cast<float>(Double(k + 1)));
        break;
      case FD::CPPTYPE_BOOL:
        r->SetBool(m, field, (seed_ + k) % 2 == 0);
        break;
      case FD::CPPTYPE_ENUM: {
        const pb::EnumDescriptor* e = field->enum_type();
        // Mostly named values; now and then a number the enum lacks.
        const int number =
            (seed_ + k) % 7 == 3 ? 999 : e->value((seed_ + k) % e->value_count())->number();
        r->SetEnumValue(m, field, number);
        break;
      }
      case FD::CPPTYPE_STRING:
        r->SetString(m, field,
                     field->type() == FD::TYPE_BYTES
                         ? std::string("b\xff\x00y", 4).substr(0, 1 + seed_ % 4)
                         : Text(k));
        break;
      case FD::CPPTYPE_MESSAGE:
        if (depth < 3) Fill(r->MutableMessage(m, field), depth + 1);
        break;
    }
  }

  void AddRepeated(pb::Message* m, const FD* field, int depth, int k) {
    const pb::Reflection* r = m->GetReflection();
    switch (field->cpp_type()) {
      case FD::CPPTYPE_INT32:
        r->AddInt32(m, field, -k * 7 + seed_);
        break;
      case FD::CPPTYPE_UINT32:
        r->AddUInt32(m, field, k);
        break;
      case FD::CPPTYPE_INT64:
        r->AddInt64(m, field, -(int64_t{1} << 40) * k);
        break;
      case FD::CPPTYPE_UINT64:
        r->AddUInt64(m, field, k);
        break;
      case FD::CPPTYPE_DOUBLE:
        r->AddDouble(m, field, Double(k));
        break;
      case FD::CPPTYPE_FLOAT:
        r->AddFloat(m, field, static_cast<float>(Double(k)));
        break;
      case FD::CPPTYPE_BOOL:
        r->AddBool(m, field, k == 0);
        break;
      case FD::CPPTYPE_ENUM:
        r->AddEnumValue(m, field,
                        field->enum_type()->value(k % field->enum_type()->value_count())->number());
        break;
      case FD::CPPTYPE_STRING:
        r->AddString(m, field, Text(k));
        break;
      case FD::CPPTYPE_MESSAGE:
        if (depth < 3) Fill(r->AddMessage(m, field), depth + 1);
        break;
    }
  }

  int seed_;
};

std::vector<const pb::Descriptor*> MessagesOf(const pb::FileDescriptor* file) {
  std::vector<const pb::Descriptor*> out;
  for (int i = 0; i < file->message_type_count(); ++i) out.push_back(file->message_type(i));
  return out;
}

TEST(JsonPrinterTest, PrintsWhatProtobufPrintsForEveryApiMessage) {
  std::vector<const pb::Descriptor*> types;
  for (const pb::Descriptor* d :
       {tickets::v1::CreateTicketResponse::descriptor(), testing::v1::Thing::descriptor()}) {
    for (const pb::Descriptor* t : MessagesOf(d->file())) types.push_back(t);
    for (int i = 0; i < d->file()->dependency_count(); ++i) {
      for (const pb::Descriptor* t : MessagesOf(d->file()->dependency(i))) types.push_back(t);
    }
  }
  types.push_back(pb::Empty::descriptor());
  pb::DynamicMessageFactory factory;
  int compared = 0;
  for (const pb::Descriptor* type : types) {
    if (!JsonPrinterSupports(type)) continue;
    for (int seed = 0; seed < 8; ++seed) {
      std::unique_ptr<pb::Message> message(factory.GetPrototype(type)->New());
      if (seed > 0) Filler(seed).Fill(message.get(), 0);
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

TEST(JsonPrinterTest, LeavesTypesItCannotPrintToProtobuf) {
  EXPECT_FALSE(JsonPrinterSupports(pb::Struct::descriptor()));
  EXPECT_FALSE(JsonPrinterSupports(pb::Value::descriptor()));
  EXPECT_TRUE(JsonPrinterSupports(tickets::v1::ListTicketsResponse::descriptor()));
}

}  // namespace
}  // namespace propdesk::gateway
