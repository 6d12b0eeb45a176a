# Tests of the domain primitives (money C-4, calendar C-7, record numbers C-5)
# and identity (JWT, site scope C-1).
propdesk_cc_test(common_money_test LABEL unit
  SRCS ${CMAKE_CURRENT_SOURCE_DIR}/money_test.cc
  DEPS common_domain)

propdesk_cc_test(common_calendar_test LABEL unit
  SRCS ${CMAKE_CURRENT_SOURCE_DIR}/calendar_test.cc
  DEPS common_domain)

propdesk_cc_test(common_record_number_test LABEL unit
  SRCS ${CMAKE_CURRENT_SOURCE_DIR}/record_number_test.cc
  DEPS common_domain)

propdesk_cc_test(common_record_sequence_test LABEL integration
  SRCS ${CMAKE_CURRENT_SOURCE_DIR}/record_sequence_test.cc
  DEPS common_domain common_mysql)
target_compile_definitions(common_record_sequence_test PRIVATE
  PROPDESK_COMMON_MIGRATIONS="${CMAKE_SOURCE_DIR}/services/common/migrations")

propdesk_cc_test(common_principal_test LABEL unit
  SRCS ${CMAKE_CURRENT_SOURCE_DIR}/principal_test.cc
  DEPS common_identity)

propdesk_cc_test(common_jwt_test LABEL unit
  SRCS ${CMAKE_CURRENT_SOURCE_DIR}/jwt_test.cc
  DEPS common_identity OpenSSL::Crypto)
