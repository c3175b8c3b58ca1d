// End-to-end test support: runs a binary (deskpipe, the emulator's tools) to completion through /bin/sh with
// its stdout captured. The credential variables deskpipe reads are removed from its environment, so a
// developer's own settings cannot leak into a test. Header-only; not thread-safe (popen).
#pragma once

#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <string>
#include <vector>

namespace deskpipe::e2e {

struct CommandResult {
  int exit_code = -1;  // -1 when the command could not run or died of a signal
  std::string out;
};

// `arg` quoted for /bin/sh.
inline std::string ShellQuote(const std::string& arg) {
  std::string quoted = "'";
  for (char c : arg) quoted += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return quoted + "'";
}

// `shell_suffix` is appended to the command line as is: a stderr redirection such as " 2>&1" or
// " 2>>'log'" (otherwise stderr passes through to the test's own).
inline CommandResult RunCommand(const std::vector<std::string>& args, const std::string& shell_suffix = "") {
  std::string command = "env -u TENANT_ID -u FRESHDESK_API_KEY -u FRESHDESK_DOMAIN -u FRESHDESK_BASE_URL";
  for (const auto& arg : args) command += " " + ShellQuote(arg);
  command += shell_suffix;
  CommandResult result;
  FILE* pipe = popen(command.c_str(), "r");
  if (pipe == nullptr) return result;
  std::array<char, 4096> buffer;
  size_t n;
  while ((n = fread(buffer.data(), 1, buffer.size(), pipe)) > 0) result.out.append(buffer.data(), n);
  const int status = pclose(pipe);
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return result;
}

// The arguments of `BINARY VERB --tenant TENANT --data-dir DATA_DIR --embedder hashing EXTRA…`: the deskpipe
// command line the end-to-end tests run against the emulator.
inline std::vector<std::string> DeskpipeArgs(const std::string& binary, const std::string& verb,
                                             const std::string& tenant, const std::string& data_dir,
                                             const std::vector<std::string>& extra = {}) {
  std::vector<std::string> args = {binary, verb, "--tenant", tenant, "--data-dir", data_dir,
                                   "--embedder", "hashing"};
  args.insert(args.end(), extra.begin(), extra.end());
  return args;
}

}  // namespace deskpipe::e2e
