// Test support: TOML files written into GoogleTest's temp dir for one test and removed with it. Each name carries
// the running test's name, since ctest runs tests as parallel processes sharing that dir.
// Not thread-safe; one per test fixture.
#pragma once

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

namespace deskpipe::testing {

class TempTomlFiles {
 public:
  TempTomlFiles() = default;
  TempTomlFiles(const TempTomlFiles&) = delete;
  TempTomlFiles& operator=(const TempTomlFiles&) = delete;
  ~TempTomlFiles() {
    for (const std::string& file : files_) std::filesystem::remove(file);
  }

  // Writes `text` to a fresh file and returns its path.
  std::string Write(const std::string& text) {
    const std::string test = ::testing::UnitTest::GetInstance()->current_test_info()->name();
    const std::string path = (std::filesystem::path(::testing::TempDir()) /
                              ("deskpipe_config_test_" + test + "_" + std::to_string(files_.size()) + ".toml"))
                                 .string();
    std::ofstream(path) << text;
    files_.push_back(path);
    return path;
  }

 private:
  std::vector<std::string> files_;
};

}  // namespace deskpipe::testing
