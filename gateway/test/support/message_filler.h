#pragma once

// Messages of every API type filled with awkward values, for tests that
// compare the gateway's JSON code with protobuf's (json_printer_test,
// json_parser_test).

#include <google/protobuf/descriptor.h>
#include <google/protobuf/message.h>

#include <cmath>
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

namespace propdesk::gateway::test {

// Deterministic awkward values, varied by `seed`.
class Filler {
  using FD = google::protobuf::FieldDescriptor;

 public:
  explicit Filler(int seed) : seed_(seed) {}

  void Fill(google::protobuf::Message* m, int depth) {
    const google::protobuf::Descriptor* d = m->GetDescriptor();
    const google::protobuf::Reflection* r = m->GetReflection();
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
        google::protobuf::Message* entry =
            r->AddMessage(m, field);  // one entry: map order is unspecified
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

  void SetSingle(google::protobuf::Message* m, const FD* field, int depth) {
    const google::protobuf::Reflection* r = m->GetReflection();
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
        const google::protobuf::EnumDescriptor* e = field->enum_type();
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

  void AddRepeated(google::protobuf::Message* m, const FD* field, int depth, int k) {
    const google::protobuf::Reflection* r = m->GetReflection();
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

// Every message type of the tickets API and of the transcoding test API,
// with the files they import, and google.protobuf.Empty.
std::vector<const google::protobuf::Descriptor*> ApiMessageTypes();

}  // namespace propdesk::gateway::test
