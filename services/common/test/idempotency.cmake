propdesk_cc_test(common_idempotency_test LABEL integration
  SRCS ${CMAKE_CURRENT_SOURCE_DIR}/idempotency_test.cc
  DEPS common_idempotency common_mysql common_redis propdesk_testing_proto)
target_compile_definitions(common_idempotency_test PRIVATE
  PROPDESK_COMMON_MIGRATIONS="${CMAKE_SOURCE_DIR}/services/common/migrations")
