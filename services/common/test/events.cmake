# Tests of Redis (redis.h), the outbox, relay and consumers (ARCHITECTURE.md
# §7), and leader election and windowed scans (§8).
set(PROPDESK_COMMON_MIGRATIONS_DIR "${CMAKE_SOURCE_DIR}/services/common/migrations")

propdesk_cc_test(common_events_unit_test LABEL unit
  SRCS ${CMAKE_CURRENT_SOURCE_DIR}/events_unit_test.cc
  DEPS common_events common_redis)

propdesk_cc_test(common_redis_test LABEL integration
  SRCS ${CMAKE_CURRENT_SOURCE_DIR}/redis_test.cc
  DEPS common_redis)

foreach(part outbox event_consumer leader windowed_scan)
  propdesk_cc_test(common_${part}_test LABEL integration
    SRCS ${CMAKE_CURRENT_SOURCE_DIR}/${part}_test.cc
    DEPS common_events common_mysql common_redis)
  target_compile_definitions(common_${part}_test PRIVATE
    PROPDESK_COMMON_MIGRATIONS="${PROPDESK_COMMON_MIGRATIONS_DIR}")
endforeach()
