# Helpers shared by every module's CMakeLists.

# deskpipe_library(name SOURCES a.cc b.cc DEPS lib…): a static library of project code, includes by path from src/.
function(deskpipe_library name)
  cmake_parse_arguments(ARG "" "" "SOURCES;DEPS" ${ARGN})
  add_library(${name} STATIC ${ARG_SOURCES})
  target_include_directories(${name} PUBLIC ${PROJECT_SOURCE_DIR}/src)
  target_compile_options(${name} PRIVATE ${DESKPIPE_WARNINGS})
  target_compile_definitions(${name} PUBLIC DESKPIPE_ASSET_DIR="${DESKPIPE_ASSET_DIR}")
  target_link_libraries(${name} PUBLIC ${ARG_DEPS})
endfunction()

# deskpipe_test(name SOURCES a_test.cc DEPS lib… [LABELS unit|integration|e2e]): a GoogleTest binary under ctest.
function(deskpipe_test name)
  cmake_parse_arguments(ARG "" "" "SOURCES;DEPS;LABELS" ${ARGN})
  add_executable(${name} ${ARG_SOURCES})
  target_compile_options(${name} PRIVATE ${DESKPIPE_WARNINGS})
  target_link_libraries(${name} PRIVATE ${ARG_DEPS} GTest::gtest GTest::gtest_main GTest::gmock)
  if(NOT ARG_LABELS)
    set(ARG_LABELS unit)
  endif()
  gtest_discover_tests(${name} PROPERTIES LABELS "${ARG_LABELS}" DISCOVERY_TIMEOUT 30)
endfunction()
