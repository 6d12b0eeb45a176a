#pragma once

// A one-pass reader of proto3 JSON request bodies, filling the message by
// reflection: the common forms only, each read exactly as protobuf's JSON
// parser reads it. Protobuf 3.21 parses JSON through a stream of type
// resolver lookups into bytes that are parsed again; that was 17 % of the
// gateway's CPU per create request.
//
// It accepts: objects keyed by JSON name or proto name, each field once and
// one member per oneof; strings (all escapes; valid UTF-8); integers as
// plain numbers or quoted, in range; doubles as numbers; true/false; enums by
// name; nested messages and arrays of all these. Anything else — null, maps,
// bytes, floats, enum numbers, well-known types (Timestamp, wrappers, …),
// unknown fields, malformed JSON — returns false: the caller clears the
// message and asks protobuf, which accepts or rejects it with its own
// message. So the gateway accepts, rejects and explains exactly what
// protobuf does; this reader only makes the common case cheap.

#include <google/protobuf/message.h>

#include <string_view>

namespace propdesk::gateway {

// Fills `message` (empty) from `json`. Returns false, with `message` left
// partly filled, when `json` is anything but the forms listed above.
bool ParseCommonJson(std::string_view json, google::protobuf::Message* message);

}  // namespace propdesk::gateway
