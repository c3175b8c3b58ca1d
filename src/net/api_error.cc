#include "net/api_error.h"

#include <time.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>

#include <nlohmann/json.hpp>

#include "core/log.h"

namespace deskpipe::net {

using std::chrono::milliseconds;

std::string ServerErrorMessage(const std::string& body, const std::string& secret) {
  constexpr size_t kMaxBytes = 200;
  std::string message;
  auto json = nlohmann::json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (json.is_object() && json.contains("error")) {
    const auto& error = json["error"];
    if (error.is_object() && error.contains("message") && error["message"].is_string()) {
      message = error["message"].get<std::string>();
    } else if (error.is_string()) {
      message = error.get<std::string>();
    }
  }
  if (message.empty()) message = body;
  message = log::MaskSecret(std::move(message), secret);  // before cutting, so no part of the secret survives
  if (message.size() > kMaxBytes) {
    size_t end = kMaxBytes;
    while (end > 0 && (static_cast<unsigned char>(message[end]) & 0xC0) == 0x80) --end;
    message.resize(end);
  }
  std::replace_if(message.begin(), message.end(), [](unsigned char c) { return c < ' '; }, ' ');
  return message.empty() ? "empty body" : message;
}

Status ClassifyHttpStatus(long status, const std::string& what, const std::string& key_setting) {
  switch (status) {
    case 400:
    case 404:
    case 413:
    case 422:
      return InvalidArgument(what);
    case 401:
      return Unauthenticated(what + " (check " + key_setting + ")");
    case 403:
      return PermissionDenied(what);
    case 429:
      return RateLimited(what);
    default:
      return status >= 500 || status == 408 ? Unavailable(what) : Internal(what);
  }
}

std::optional<milliseconds> ParseRetryAfter(const std::string& value,
                                            std::chrono::system_clock::time_point now) {
  size_t begin = value.find_first_not_of(" \t");
  if (begin == std::string::npos) return std::nullopt;
  const std::string text = value.substr(begin, value.find_last_not_of(" \t") - begin + 1);
  char* end = nullptr;
  const double seconds = std::strtod(text.c_str(), &end);
  if (end != text.c_str() && *end == '\0') {
    if (!(seconds >= 0) || !std::isfinite(seconds)) return std::nullopt;
    return milliseconds(static_cast<int64_t>(std::ceil(seconds * 1000)));
  }
  struct tm tm {};
  const char* parsed = strptime(text.c_str(), "%a, %d %b %Y %H:%M:%S GMT", &tm);
  if (parsed == nullptr || *parsed != '\0') return std::nullopt;
  const auto at = std::chrono::system_clock::from_time_t(timegm(&tm));
  return std::max(milliseconds(0), std::chrono::duration_cast<milliseconds>(at - now));
}

std::optional<milliseconds> RetryAfterOf(const HttpResponse& response) {
  return ParseRetryAfter(response.Header("retry-after"), std::chrono::system_clock::now());
}

}  // namespace deskpipe::net
