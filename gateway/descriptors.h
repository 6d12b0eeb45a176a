#pragma once

// The services the gateway fronts, as descriptor sets (FileDescriptorSet with
// imports and source info, as `protoc --include_imports --include_source_info`
// writes them; each service's build produces descriptors/propdesk_<svc>.pb).
// Several sets may share files (google/api/http.proto, common types): a file
// is built once, and two different files under the same name are an error.

#include <google/protobuf/descriptor.h>
#include <google/protobuf/descriptor.pb.h>

#include <memory>
#include <string>
#include <vector>

namespace propdesk::gateway {

struct DescriptorSource {
  std::string origin;  // file name, for error messages
  google::protobuf::FileDescriptorSet set;
};

struct LoadedDescriptors {
  std::unique_ptr<google::protobuf::DescriptorPool> pool;
  // Every service of every file, in load order (the gateway routes those
  // with google.api.http rules).
  std::vector<const google::protobuf::ServiceDescriptor*> services;
  std::vector<std::string> origins;  // the set files read
};

// `paths`: descriptor set files, or directories whose *.pb files are all
// read (sorted by name). Throws Error(kInvalidArgument, "BAD_DESCRIPTORS")
// for a missing or unreadable file, an empty directory, a file that is not
// a FileDescriptorSet, a missing import, or conflicting definitions.
LoadedDescriptors LoadDescriptorSets(const std::vector<std::string>& paths);

// The same from sets already in memory (tests).
LoadedDescriptors BuildDescriptorPool(const std::vector<DescriptorSource>& sources);

}  // namespace propdesk::gateway
