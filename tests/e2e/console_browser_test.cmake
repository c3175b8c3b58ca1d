# The web console in Debian's headless Chromium against the real `deskpipe serve` and the emulator: sign in,
# start a sync, the progress bar to 100 %, a search hit, a screenshot at ${CMAKE_BINARY_DIR}/console.png.
# Include from tests/CMakeLists.txt (needs the serve verb; scripts/setup installs chromium and
# tools/console-test's node_modules).
add_test(NAME Console.BrowserSignInSyncSearch
         COMMAND ${CMAKE_CURRENT_LIST_DIR}/console_browser_test.sh $<TARGET_FILE:deskpipe>
                 $<TARGET_FILE:freshdesk-emulator> ${CMAKE_BINARY_DIR}/console.png)
# RUN_SERIAL: Chromium and a sync together want both cores; beside other e2e tests the 120 s waits get tight.
set_tests_properties(Console.BrowserSignInSyncSearch PROPERTIES LABELS e2e TIMEOUT 300 RUN_SERIAL TRUE)
