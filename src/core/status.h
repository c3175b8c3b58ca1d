// Status and Result: how every deskpipe function reports failure. Stages classify an error where it happens
// (the code); the runner decides what to do with it (stop, retry, skip the stream, dead-letter the record).
// Value types: copy and move freely, safe to pass between threads.
// Folder: core/ (this, config, logging, ids, time, hashing, record values) includes no other folder of deskpipe;
// every folder may include it (docs/ARCHITECTURE.md).
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include <tl/expected.hpp>

namespace deskpipe {

enum class StatusCode {
  kOk = 0,
  kInvalidArgument,   // bad config or input the user can fix: stop the job, name the setting
  kUnauthenticated,   // credentials refused: stop the job
  kPermissionDenied,  // on the whole account: stop; on one stream: skip that stream
  kNotFound,          // a known id is gone: deletion / archive check
  kRateLimited,       // wait retry_after, then retry; pauses the whole account
  kUnavailable,       // transient: 5xx, timeout, reset; retry with backoff
  kInvalidRecord,     // one record is bad: dead-letter it and go on
  kCancelled,         // a stop was requested
  kBusy,              // another process holds what the job needs exclusively (a tenant's write lock)
  kInternal,          // a bug: stop loudly
  kDataLoss,          // a store file is corrupt or unreadable: stop, naming the file and the way out
};

std::string_view StatusCodeName(StatusCode code);

class [[nodiscard]] Status {
 public:
  Status() = default;
  Status(StatusCode code, std::string message) : code_(code), message_(std::move(message)) {}

  static Status Ok() { return Status(); }

  bool ok() const { return code_ == StatusCode::kOk; }
  StatusCode code() const { return code_; }
  const std::string& message() const { return message_; }

  // For kRateLimited: how long the server asked us to wait.
  std::optional<std::chrono::milliseconds> retry_after() const { return retry_after_; }
  Status& set_retry_after(std::chrono::milliseconds wait) {
    retry_after_ = wait;
    return *this;
  }

  // Returns a copy whose message is prefixed with `context: `.
  Status WithContext(std::string_view context) const;

  // "InvalidArgument: message"
  std::string ToString() const;

 private:
  StatusCode code_ = StatusCode::kOk;
  std::string message_;
  std::optional<std::chrono::milliseconds> retry_after_;
};

inline Status InvalidArgument(std::string m) { return {StatusCode::kInvalidArgument, std::move(m)}; }
inline Status Unauthenticated(std::string m) { return {StatusCode::kUnauthenticated, std::move(m)}; }
inline Status PermissionDenied(std::string m) { return {StatusCode::kPermissionDenied, std::move(m)}; }
inline Status NotFound(std::string m) { return {StatusCode::kNotFound, std::move(m)}; }
inline Status RateLimited(std::string m) { return {StatusCode::kRateLimited, std::move(m)}; }
inline Status Unavailable(std::string m) { return {StatusCode::kUnavailable, std::move(m)}; }
inline Status InvalidRecord(std::string m) { return {StatusCode::kInvalidRecord, std::move(m)}; }
inline Status Cancelled(std::string m) { return {StatusCode::kCancelled, std::move(m)}; }
inline Status Internal(std::string m) { return {StatusCode::kInternal, std::move(m)}; }
inline Status DataLoss(std::string m) { return {StatusCode::kDataLoss, std::move(m)}; }

template <typename T>
using Result = tl::expected<T, Status>;

inline tl::unexpected<Status> Error(Status s) { return tl::unexpected<Status>(std::move(s)); }

// Turns a Status into a Result<void> (OK → value, else error).
inline Result<void> ToResult(Status s) {
  if (s.ok()) return {};
  return Error(std::move(s));
}

}  // namespace deskpipe

#define DESKPIPE_CONCAT_INNER(a, b) a##b
#define DESKPIPE_CONCAT(a, b) DESKPIPE_CONCAT_INNER(a, b)

// RETURN_IF_ERROR(expr): expr is a Result<T>; returns its error from the enclosing function.
#define RETURN_IF_ERROR(expr)                                                \
  do {                                                                       \
    auto&& deskpipe_result_ = (expr);                                        \
    if (!deskpipe_result_) return ::deskpipe::Error(deskpipe_result_.error()); \
  } while (0)

// ASSIGN_OR_RETURN(lhs, expr): lhs = *expr, or returns expr's error from the enclosing function.
#define ASSIGN_OR_RETURN(lhs, expr) \
  ASSIGN_OR_RETURN_IMPL(DESKPIPE_CONCAT(deskpipe_result_, __LINE__), lhs, expr)
#define ASSIGN_OR_RETURN_IMPL(tmp, lhs, expr)            \
  auto tmp = (expr);                                     \
  if (!tmp) return ::deskpipe::Error(std::move(tmp).error()); \
  lhs = std::move(tmp).value()
