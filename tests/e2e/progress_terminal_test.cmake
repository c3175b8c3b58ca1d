# The sync's progress from a real `deskpipe sync` of the emulator: in a tmux pane 80 columns wide (every row fits,
# one row per stream in the whole history) and under --log-format json (every stderr line is JSON). Include from
# tests/CMakeLists.txt (scripts/setup installs tmux and jq).
foreach(mode terminal json)
  if(mode STREQUAL "terminal")
    set(_name Progress.TerminalAt80ColumnsFitsAndRedrawsInPlace)
  else()
    set(_name Progress.JsonLogsEveryStderrLineIsJson)
  endif()
  add_test(NAME ${_name} COMMAND ${CMAKE_CURRENT_LIST_DIR}/progress_terminal_test.sh ${mode} $<TARGET_FILE:deskpipe>
                                 $<TARGET_FILE:freshdesk-emulator>)
  set_tests_properties(${_name} PROPERTIES LABELS e2e TIMEOUT 300 SKIP_RETURN_CODE 77)
endforeach()
