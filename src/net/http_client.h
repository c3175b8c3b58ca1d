// A blocking HTTP client over libcurl: keep-alive (one connection reused per host), gzip, timeouts.
// Not thread-safe: use one instance per thread. The rate governor and multi-interface concurrency of later
// issues wrap this interface.
#pragma once

#include <chrono>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "core/status.h"

namespace deskpipe::net {

struct HttpRequest {
  std::string method = "GET";
  std::string url;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  // Basic auth "user:password"; never logged.
  std::string basic_auth;
  std::chrono::milliseconds timeout{30000};
};

struct HttpResponse {
  long status = 0;
  std::map<std::string, std::string> headers;  // names lower-cased
  std::string body;

  // Value of a header (name case-insensitive), or "" when absent.
  std::string Header(const std::string& name) const;
};

class HttpClient {
 public:
  virtual ~HttpClient() = default;
  // Transport failures (DNS, refused, reset, timeout) → kUnavailable; any HTTP status is a response.
  virtual Result<HttpResponse> Send(const HttpRequest& request) = 0;
};

std::unique_ptr<HttpClient> MakeCurlHttpClient();

}  // namespace deskpipe::net
