// A GoogleTest fixture for end-to-end tests: a scratch directory of its own under the system's temp directory
// (named after the suite and the process, so suites running side by side never share one; kept after a failed
// test for a look), and optionally the Freshdesk emulator serving a synthetic helpdesk for the test's length.
// Not thread-safe (one per test, as GoogleTest makes them).
#pragma once

#include <unistd.h>

#include <filesystem>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

#include "cli/emulator_process.h"

namespace deskpipe::e2e {

class ScratchDirTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const std::string suite = ::testing::UnitTest::GetInstance()->current_test_info()->test_suite_name();
    root_ = std::filesystem::temp_directory_path() / ("deskpipe-" + suite + "-" + std::to_string(getpid()));
    std::filesystem::remove_all(root_);
    std::filesystem::create_directories(root_);
  }
  void TearDown() override {
    emulator_.reset();
    if (!HasFailure()) std::filesystem::remove_all(root_);
  }

  // Starts EMULATOR_BIN with `args` as emulator_; a fatal test failure when it cannot (check
  // HasFatalFailure() after calling it from SetUp).
  void StartEmulator(const std::vector<std::string>& args) {
    auto emulator = cli::EmulatorProcess::Start(EMULATOR_BIN, args);
    ASSERT_TRUE(emulator) << emulator.error().ToString();
    emulator_ = std::make_unique<cli::EmulatorProcess>(std::move(*emulator));
  }

  std::filesystem::path root_;
  std::unique_ptr<cli::EmulatorProcess> emulator_;
};

}  // namespace deskpipe::e2e
