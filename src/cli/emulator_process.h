// Runs the bundled Freshdesk emulator as a child process for `deskpipe demo`. Not thread-safe. The
// destructor stops the child (SIGTERM, then waits), so an EmulatorProcess must not outlive the demo.
#pragma once

#include <string>
#include <sys/types.h>
#include <vector>

#include "core/status.h"

namespace deskpipe::cli {

class EmulatorProcess {
 public:
  // Starts `binary` with `args` plus `--port 0` and waits for its "listening on URL" line.
  static Result<EmulatorProcess> Start(const std::string& binary, const std::vector<std::string>& args);

  EmulatorProcess(EmulatorProcess&& other) noexcept;
  EmulatorProcess& operator=(EmulatorProcess&&) = delete;
  EmulatorProcess(const EmulatorProcess&) = delete;
  ~EmulatorProcess();

  const std::string& base_url() const { return base_url_; }

 private:
  EmulatorProcess(pid_t pid, std::string base_url) : pid_(pid), base_url_(std::move(base_url)) {}
  pid_t pid_ = -1;
  std::string base_url_;
};

// The emulator binary: $DESKPIPE_EMULATOR, else `freshdesk-emulator` beside the running deskpipe binary.
std::string FindEmulatorBinary();

}  // namespace deskpipe::cli
