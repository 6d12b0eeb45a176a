#pragma once

// The proto3 JSON mapping of a parsed message, written by reflection in one
// pass: the same text protobuf's JSON printer writes (default options:
// lowerCamelCase names, fields at their default value left out, 64-bit
// integers as strings, enums by name, Timestamp, Duration, FieldMask and the
// wrappers in their JSON forms). Protobuf 3.21 prints by serializing the
// message and re-reading it through its type resolver; that cost a quarter
// of the gateway's own CPU per response. Messages containing Any, Struct,
// Value, ListValue or NullValue are not handled here (Supports() says so);
// the transcoder leaves those to protobuf.

#include <google/protobuf/descriptor.h>
#include <google/protobuf/message.h>

#include <string>

namespace propdesk::gateway {

// Whether PrintJson handles every message type reachable from `type`.
bool JsonPrinterSupports(const google::protobuf::Descriptor* type);

// Appends the JSON of `message` to `out`. `message`'s type must be supported.
void PrintJson(const google::protobuf::Message& message, std::string* out);

}  // namespace propdesk::gateway
