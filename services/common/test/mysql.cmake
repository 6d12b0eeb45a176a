# Tests of the MySQL pool, transactions and migrations (mysql.h, migrations.h).
propdesk_cc_test(common_mysql_unit_test LABEL unit
  SRCS ${CMAKE_CURRENT_SOURCE_DIR}/mysql_dsn_test.cc
  DEPS common_mysql)

propdesk_cc_test(common_mysql_test LABEL integration
  SRCS ${CMAKE_CURRENT_SOURCE_DIR}/mysql_test.cc
  DEPS common_mysql)

propdesk_cc_test(common_migrations_test LABEL integration
  SRCS ${CMAKE_CURRENT_SOURCE_DIR}/migrations_test.cc
  DEPS common_mysql)
target_compile_definitions(common_migrations_test PRIVATE
  PROPDESK_COMMON_MIGRATIONS="${CMAKE_SOURCE_DIR}/services/common/migrations"
  PROPDESK_MIGRATION_TESTDATA="${CMAKE_CURRENT_SOURCE_DIR}/testdata")
