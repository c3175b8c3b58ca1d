# Helpers shared by every module's CMakeLists.

# Every dependency is found through these, so a missing one stops configure with the Debian package that
# provides it (scripts/setup installs them all) instead of a CMake trace.
function(deskpipe_missing what debian_packages)
  message(FATAL_ERROR "deskpipe needs ${what}, which was not found: install the Debian package(s) "
                      "${debian_packages} (scripts/setup does: run scripts/setup)")
endfunction()

# deskpipe_find_package(<debian-package…> <name> [find_package arguments]): find_package(<name> …) or stop.
macro(deskpipe_find_package debian_packages name)
  find_package(${name} ${ARGN} QUIET)
  if(NOT ${name}_FOUND)
    deskpipe_missing("the CMake package ${name}" "${debian_packages}")
  endif()
endmacro()

# deskpipe_pkg_check_modules(<debian-package…> <prefix> [pkg_check_modules arguments]): the same for pkg-config.
macro(deskpipe_pkg_check_modules debian_packages prefix)
  pkg_check_modules(${prefix} QUIET ${ARGN})
  if(NOT ${prefix}_FOUND)
    deskpipe_missing("the pkg-config module(s) of ${prefix}" "${debian_packages}")
  endif()
endmacro()

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
