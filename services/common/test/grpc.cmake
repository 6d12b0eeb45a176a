# Tests of common_core (config, log, errors) and common_grpc (executor,
# readiness, call.h, server bootstrap, health, reflection, metrics). None
# needs MariaDB or Redis: the gRPC tests run an in-process EchoService on a
# loopback port.
propdesk_cc_test(common_log_errors_test LABEL unit
  SRCS ${CMAKE_CURRENT_SOURCE_DIR}/log_test.cc ${CMAKE_CURRENT_SOURCE_DIR}/errors_test.cc
       ${CMAKE_CURRENT_SOURCE_DIR}/json_test.cc
  DEPS common_core googleapis_proto protobuf::libprotobuf)

propdesk_cc_test(common_config_test LABEL unit
  SRCS ${CMAKE_CURRENT_SOURCE_DIR}/config_test.cc
  DEPS common_core protobuf::libprotobuf)

propdesk_cc_test(common_executor_test LABEL unit
  SRCS ${CMAKE_CURRENT_SOURCE_DIR}/executor_test.cc ${CMAKE_CURRENT_SOURCE_DIR}/readiness_test.cc
  DEPS common_grpc)

propdesk_cc_test(common_grpc_server_test LABEL unit TIMEOUT 120
  SRCS ${CMAKE_CURRENT_SOURCE_DIR}/grpc_server_test.cc
  DEPS common_grpc common_identity propdesk_testing_proto grpc_health_proto
       gRPC::grpc++_reflection protobuf::libprotobuf)

# The group commit queue behind batched creates (pure: no network, no DB).
propdesk_cc_test(common_batch_queue_test LABEL unit
  SRCS ${CMAKE_CURRENT_SOURCE_DIR}/batch_queue_test.cc
  DEPS common_core)
