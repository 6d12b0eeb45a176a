#include "support/json_at.h"

#include <google/protobuf/struct.pb.h>
#include <google/protobuf/util/json_util.h>
#include <google/protobuf/util/message_differencer.h>

#include <cstdint>
#include <string_view>

namespace propdesk::gateway::test {

namespace pb = google::protobuf;

std::string JsonAt(const std::string& json, const std::string& path) {
  pb::Value value;
  if (!pb::util::JsonStringToMessage(json, &value).ok()) return "<not JSON: " + json + ">";
  std::string_view rest = path;
  while (!rest.empty()) {
    const size_t dot = rest.find('.');
    const std::string key(rest.substr(0, dot));
    rest = dot == std::string_view::npos ? std::string_view() : rest.substr(dot + 1);
    pb::Value next;
    if (value.has_struct_value()) {
      auto it = value.struct_value().fields().find(key);
      if (it == value.struct_value().fields().end()) return "<missing " + path + ">";
      next = it->second;
    } else if (value.has_list_value()) {
      const int index = std::stoi(key);
      if (index >= value.list_value().values_size()) return "<missing " + path + ">";
      next = value.list_value().values(index);
    } else {
      return "<missing " + path + ">";
    }
    value = next;
  }
  switch (value.kind_case()) {
    case pb::Value::kStringValue:
      return value.string_value();
    case pb::Value::kNumberValue: {
      const double n = value.number_value();
      return n == static_cast<int64_t>(n) ? std::to_string(static_cast<int64_t>(n))
                                          : std::to_string(n);
    }
    case pb::Value::kBoolValue:
      return value.bool_value() ? "true" : "false";
    default: {
      std::string out;
      (void)pb::util::MessageToJsonString(value, &out);
      return out;
    }
  }
}

bool SameJson(const std::string& a, const std::string& b) {
  pb::Value left;
  pb::Value right;
  return pb::util::JsonStringToMessage(a, &left).ok() &&
         pb::util::JsonStringToMessage(b, &right).ok() &&
         pb::util::MessageDifferencer::Equals(left, right);
}

std::string Reason(const ClientResponse& response) {
  for (int i = 0; i < 4; ++i) {
    const std::string reason =
        JsonAt(response.body, "error.details." + std::to_string(i) + ".reason");
    if (!reason.starts_with("<missing")) return reason;
  }
  return "<no reason in " + response.body + ">";
}

}  // namespace propdesk::gateway::test
