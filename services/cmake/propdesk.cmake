# Helpers shared by every propdesk target.

set(PROPDESK_PROTO_GEN_DIR ${CMAKE_BINARY_DIR}/proto-gen)
file(MAKE_DIRECTORY ${PROPDESK_PROTO_GEN_DIR})

# propdesk_proto_library(<target> ROOT <include-root> PROTOS <rel paths...>
#                        [GRPC] [DEPS <targets...>])
# Generates C++ (and with GRPC, gRPC + gmock stubs) for protos given relative
# to ROOT, into the build tree, and wraps them in a static library. Generated
# code is compiled without -Werror: we do not control what protoc emits.
function(propdesk_proto_library target)
  cmake_parse_arguments(P "GRPC" "ROOT" "PROTOS;DEPS" ${ARGN})
  set(srcs)
  set(abs_protos)
  foreach(rel ${P_PROTOS})
    string(REGEX REPLACE "\\.proto$" "" base ${rel})
    set(outs ${PROPDESK_PROTO_GEN_DIR}/${base}.pb.cc ${PROPDESK_PROTO_GEN_DIR}/${base}.pb.h)
    set(args --cpp_out=${PROPDESK_PROTO_GEN_DIR})
    if(P_GRPC)
      list(APPEND outs ${PROPDESK_PROTO_GEN_DIR}/${base}.grpc.pb.cc
                       ${PROPDESK_PROTO_GEN_DIR}/${base}.grpc.pb.h
                       ${PROPDESK_PROTO_GEN_DIR}/${base}_mock.grpc.pb.h)
      list(APPEND args --grpc_out=generate_mock_code=true:${PROPDESK_PROTO_GEN_DIR}
                       --plugin=protoc-gen-grpc=${PROPDESK_GRPC_CPP_PLUGIN})
    endif()
    add_custom_command(
      OUTPUT ${outs}
      COMMAND protobuf::protoc ${args}
              -I ${P_ROOT} -I ${PROPDESK_PROTO_ROOT} -I ${GOOGLEAPIS_PROTO_DIR}
              -I ${GRPC_PROTO_DIR} -I /usr/include
              ${P_ROOT}/${rel}
      DEPENDS ${P_ROOT}/${rel} protobuf::protoc
      COMMENT "protoc ${rel}"
      VERBATIM)
    list(APPEND srcs ${PROPDESK_PROTO_GEN_DIR}/${base}.pb.cc)
    if(P_GRPC)
      list(APPEND srcs ${PROPDESK_PROTO_GEN_DIR}/${base}.grpc.pb.cc)
    endif()
  endforeach()
  add_library(${target} STATIC ${srcs})
  target_include_directories(${target} SYSTEM PUBLIC ${PROPDESK_PROTO_GEN_DIR})
  target_link_libraries(${target} PUBLIC protobuf::libprotobuf gRPC::grpc++ ${P_DEPS})
endfunction()

# propdesk_descriptor_set(<target> <out.pb> <rel protos...>): a descriptor set
# with imports and source info, which the gateway reads to build its routes.
function(propdesk_descriptor_set target out)
  get_filename_component(out_dir ${out} DIRECTORY)
  file(MAKE_DIRECTORY ${out_dir})
  set(abs)
  foreach(rel ${ARGN})
    list(APPEND abs ${PROPDESK_PROTO_ROOT}/${rel})
  endforeach()
  add_custom_command(
    OUTPUT ${out}
    COMMAND protobuf::protoc --include_imports --include_source_info
            --descriptor_set_out=${out}
            -I ${PROPDESK_PROTO_ROOT} -I ${GOOGLEAPIS_PROTO_DIR} -I ${GRPC_PROTO_DIR}
            -I /usr/include ${abs}
    DEPENDS ${abs} protobuf::protoc
    COMMENT "descriptor set ${out}"
    VERBATIM)
  add_custom_target(${target} ALL DEPENDS ${out})
endfunction()

# propdesk_cc_library(<target> SRCS ... DEPS ...): our own code, -Werror.
function(propdesk_cc_library target)
  cmake_parse_arguments(P "" "" "SRCS;DEPS" ${ARGN})
  add_library(${target} STATIC ${P_SRCS})
  target_compile_options(${target} PRIVATE ${PROPDESK_WARNINGS})
  target_include_directories(${target} PUBLIC ${CMAKE_SOURCE_DIR}/services)
  target_link_libraries(${target} PUBLIC ${P_DEPS})
endfunction()

# propdesk_cc_binary(<target> SRCS ... DEPS ...): a process that serves or
# measures (propdesk-*, bench_*): our own code, -Werror, jemalloc.
function(propdesk_cc_binary target)
  cmake_parse_arguments(P "" "" "SRCS;DEPS" ${ARGN})
  add_executable(${target} ${P_SRCS})
  target_compile_options(${target} PRIVATE ${PROPDESK_WARNINGS})
  target_link_libraries(${target} PRIVATE ${P_DEPS} PkgConfig::JEMALLOC)
endfunction()

# propdesk_cc_test(<target> LABEL unit|integration|e2e SRCS ... DEPS ...
#                  [FIXTURES <fixture...>] [TIMEOUT s])
# Integration and e2e tests require the "servers" fixture: the harness starts
# MariaDB and Redis once per ctest run and writes their addresses to
# PROPDESK_TEST_ENV (see tests/harness/servers.sh).
function(propdesk_cc_test target)
  cmake_parse_arguments(P "" "LABEL;TIMEOUT" "SRCS;DEPS" ${ARGN})
  add_executable(${target} ${P_SRCS})
  target_compile_options(${target} PRIVATE ${PROPDESK_WARNINGS})
  target_link_libraries(${target} PRIVATE ${P_DEPS} propdesk_test_support GTest::gmock GTest::gtest_main)
  add_test(NAME ${target} COMMAND ${target})
  if(NOT P_TIMEOUT)
    set(P_TIMEOUT 300)
  endif()
  set_tests_properties(${target} PROPERTIES LABELS ${P_LABEL} TIMEOUT ${P_TIMEOUT}
    ENVIRONMENT "PROPDESK_TEST_ENV=${PROPDESK_TEST_ENV_FILE};PROPDESK_HARNESS=${CMAKE_SOURCE_DIR}/tests/harness/servers.sh;PROPDESK_TEST_TMP=${CMAKE_BINARY_DIR}/test-tmp")
  if(NOT P_LABEL STREQUAL "unit")
    set_tests_properties(${target} PROPERTIES FIXTURES_REQUIRED servers)
  endif()
endfunction()
