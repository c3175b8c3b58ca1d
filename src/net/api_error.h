// What an error answer of an OpenAI-compatible HTTP API (embeddings, chat completions) means to its client:
// the server's own message made safe to log, the Status class of the HTTP code, and the Retry-After wait.
// Shared by the embedding and summary clients so both treat errors and secrets alike.
//
// Thread-safety: pure functions.
#pragma once

#include <chrono>
#include <optional>
#include <string>

#include "core/status.h"
#include "net/http_client.h"

namespace deskpipe::net {

// The server's message from an error body ({"error": {"message": …}} or {"error": "…"}, else the body
// itself): `secret` masked (some servers echo headers), cut to 200 bytes on a UTF-8 boundary, on one line.
std::string ServerErrorMessage(const std::string& body, const std::string& secret);

// The Status for a non-2xx answer: 400/404/413/422 invalid argument, 401 unauthenticated (the message names
// `key_setting` to check), 403 permission denied, 429 rate limited, 408 and 5xx unavailable (retryable).
Status ClassifyHttpStatus(long status, const std::string& what, const std::string& key_setting);

// A Retry-After header value: delta-seconds ("7", "1.5") or an HTTP date, relative to `now`. nullopt when
// absent or unreadable.
std::optional<std::chrono::milliseconds> ParseRetryAfter(const std::string& value,
                                                         std::chrono::system_clock::time_point now);

// The wait a response's Retry-After header asks for, from now (AccountPolicy::read_retry_after for APIs that
// send the standard header). nullopt when absent or unreadable.
std::optional<std::chrono::milliseconds> RetryAfterOf(const HttpResponse& response);

}  // namespace deskpipe::net
