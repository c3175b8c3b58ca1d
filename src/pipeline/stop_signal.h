// Graceful stop for a sync (issue 8, point 6): the first SIGINT or SIGTERM asks the running job to finish the
// batches in hand, save their cursors and return; a second one ends the process at once with _exit(128 + the
// signal: 130 for SIGINT, 143 for SIGTERM), the exit code a stopped run ends with either way.
// Stopping at once is still safe: every batch and its cursor commit in one transaction, so the next sync
// resumes from the last committed cursor (the same guarantee as after kill -9).
// Thread-safety: the flag is a lock-free atomic read from any thread; install once from main's thread.
// Lifetime: the handlers stay installed for the life of the process.
#pragma once

#include <atomic>

namespace deskpipe {

// Installs the SIGINT/SIGTERM handlers. Idempotent.
void InstallStopSignalHandlers();

// The process-wide stop flag the handlers set; pass it to RunnerOptions::stop.
std::atomic<bool>& ProcessStopFlag();

// The exit code of a run stopped by a signal: 128 + the first stop signal received (130 when the stop came
// some other way), so cron can tell a stopped run from a complete one.
int StopExitCode();

}  // namespace deskpipe
