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
#include <string_view>

namespace propdesk::gateway {

// Whether PrintJson handles every message type reachable from `type`.
bool JsonPrinterSupports(const google::protobuf::Descriptor* type);

// Appends the JSON of `message` to `out`. `message`'s type must be supported.
void PrintJson(const google::protobuf::Message& message, std::string* out);

// Whether PrintJsonFromWire handles `type`: what PrintJson does, in proto3
// files, without map fields (whose duplicate keys only a parse resolves).
bool WireJsonPrinterSupports(const google::protobuf::Descriptor* type);

// Appends the JSON of the `type` message encoded in `wire` to `out` without
// parsing it into a Message (no allocation per field): the same text
// PrintJson writes for the parsed message. Returns false, with `out` as it
// was, unless `wire` is in the canonical form protobuf's serializers write
// (fields in number order, a singular field once, each with its type's wire
// type, valid UTF-8 strings, well-formed); the caller then parses `wire`,
// which decides what the rest (last-one-wins, merges, malformed bytes) means.
bool PrintJsonFromWire(const google::protobuf::Descriptor* type, std::string_view wire,
                       std::string* out);

}  // namespace propdesk::gateway
