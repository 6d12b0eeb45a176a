# Test-only protos of the gateway (owned by the gateway): TranscodeService
# covers every google.api.http shape the gateway transcodes. Included from
# proto/CMakeLists.txt (or, until it does, from gateway/CMakeLists.txt).
propdesk_proto_library(propdesk_testing_transcode_proto GRPC ROOT ${PROPDESK_PROTO_ROOT}
  PROTOS propdesk/testing/v1/transcode.proto
  DEPS googleapis_proto)

# Its own descriptor set, next to propdesk_testing.pb; the gateway merges
# descriptor sets that share files (same package → same upstream).
propdesk_descriptor_set(propdesk_testing_transcode_descriptor
  ${CMAKE_BINARY_DIR}/descriptors/propdesk_testing_transcode.pb
  propdesk/testing/v1/transcode.proto)
