# The console page compiled into the binary: deskpipe_console_page(<target>) generates
# service/console_page.h in the target's build directory, holding index.html as
#   inline constexpr std::string_view deskpipe::service::kConsolePage
# and regenerates it whenever index.html changes. Include this file, call the function on the library that
# serves `/`, then `#include "service/console_page.h"` (a path the include rules accept).
#
# Run with -P, the same file is the generator (so the build does not depend on a second helper file).
if(CMAKE_SCRIPT_MODE_FILE)
  file(READ "${INPUT}" page)
  # A raw string literal ends at the first )delimiter": the page must not contain it.
  string(FIND "${page}" ")deskpipe_page\"" clash)
  if(NOT clash EQUAL -1)
    message(FATAL_ERROR "${INPUT} contains the raw-string delimiter )deskpipe_page\"")
  endif()
  file(WRITE "${OUTPUT}.tmp"
       "// Generated from src/service/console/index.html by console_page.cmake: edit that file instead.\n"
       "#pragma once\n\n#include <string_view>\n\nnamespace deskpipe::service {\n\n"
       "inline constexpr std::string_view kConsolePage = R\"deskpipe_page(${page})deskpipe_page\";\n\n"
       "}  // namespace deskpipe::service\n")
  file(COPY_FILE "${OUTPUT}.tmp" "${OUTPUT}" ONLY_IF_DIFFERENT)
  file(REMOVE "${OUTPUT}.tmp")
  return()
endif()

set(DESKPIPE_CONSOLE_PAGE_DIR ${CMAKE_CURRENT_LIST_DIR})
function(deskpipe_console_page target)
  set(header ${CMAKE_CURRENT_BINARY_DIR}/generated/service/console_page.h)
  add_custom_command(
    OUTPUT ${header}
    COMMAND ${CMAKE_COMMAND} -DINPUT=${DESKPIPE_CONSOLE_PAGE_DIR}/index.html -DOUTPUT=${header}
            -P ${DESKPIPE_CONSOLE_PAGE_DIR}/console_page.cmake
    DEPENDS ${DESKPIPE_CONSOLE_PAGE_DIR}/index.html ${DESKPIPE_CONSOLE_PAGE_DIR}/console_page.cmake
    COMMENT "Embedding the console page"
    VERBATIM)
  target_sources(${target} PRIVATE ${header})
  target_include_directories(${target} PRIVATE ${CMAKE_CURRENT_BINARY_DIR}/generated)
endfunction()
