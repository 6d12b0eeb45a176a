#pragma once

// A minimal streaming JSON writer for the bodies the gateway writes itself
// (errors, /readyz, /openapi.json): keys come out in the order written, so
// documents are stable and readable. Strings are escaped by
// common::AppendJsonString (invalid UTF-8 becomes U+FFFD).

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace propdesk::gateway {

class JsonWriter {
 public:
  JsonWriter& BeginObject();
  JsonWriter& EndObject();
  JsonWriter& BeginArray();
  JsonWriter& EndArray();
  JsonWriter& Key(std::string_view key);
  JsonWriter& String(std::string_view value);
  JsonWriter& Int(int64_t value);
  JsonWriter& Number(double value);
  JsonWriter& Bool(bool value);
  JsonWriter& Null();
  // An already-serialized JSON value, inserted as is.
  JsonWriter& Raw(std::string_view json);

  // Key + value shorthands.
  JsonWriter& Field(std::string_view key, std::string_view value) { return Key(key).String(value); }
  JsonWriter& Field(std::string_view key, const char* value) { return Key(key).String(value); }
  JsonWriter& Field(std::string_view key, int64_t value) { return Key(key).Int(value); }
  JsonWriter& Field(std::string_view key, int value) { return Key(key).Int(value); }
  JsonWriter& Field(std::string_view key, bool value) { return Key(key).Bool(value); }

  const std::string& str() const { return out_; }
  std::string Take() { return std::move(out_); }

 private:
  // Writes the separator a new value needs (a comma unless it is the first
  // element, nothing right after a key).
  void BeforeValue();

  std::string out_;
  std::vector<bool> first_;  // one per open object/array: no element yet
  bool after_key_ = false;
};

}  // namespace propdesk::gateway
