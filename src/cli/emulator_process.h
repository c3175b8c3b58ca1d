// Runs the bundled Freshdesk emulator as a child process: for `deskpipe demo`, and for the tests and benchmarks
// that sync against it. Not thread-safe. The destructor stops the child (SIGTERM, then waits).
#pragma once

#include <string>
#include <sys/types.h>
#include <vector>

#include "core/status.h"

namespace deskpipe::cli {

class EmulatorProcess {
 public:
  // Starts `binary` with `args` plus `--port PORT` (0: a free one) and waits for its "listening on URL" line.
  // A fixed port lets a test serve two helpdesks at the same address one after the other.
  static Result<EmulatorProcess> Start(const std::string& binary, const std::vector<std::string>& args,
                                       int port = 0);

  EmulatorProcess(EmulatorProcess&& other) noexcept;
  EmulatorProcess& operator=(EmulatorProcess&&) = delete;
  EmulatorProcess(const EmulatorProcess&) = delete;
  ~EmulatorProcess();

  const std::string& base_url() const { return base_url_; }
  pid_t pid() const { return pid_; }

 private:
  EmulatorProcess(pid_t pid, std::string base_url) : pid_(pid), base_url_(std::move(base_url)) {}
  pid_t pid_ = -1;
  std::string base_url_;
};

// The emulator binary: $DESKPIPE_EMULATOR, else `freshdesk-emulator` beside the running deskpipe binary.
std::string FindEmulatorBinary();
// Zendesk's: $DESKPIPE_ZENDESK_EMULATOR, else `zendesk-emulator` beside the running deskpipe binary.
std::string FindZendeskEmulatorBinary();

}  // namespace deskpipe::cli
