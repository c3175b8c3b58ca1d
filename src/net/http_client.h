// A blocking HTTP client interface, and its libcurl implementation: keep-alive, gzip, timeouts.
// Implementations say whether Send may be called from several threads at once (IsThreadSafe); callers that
// want parallel requests (FreshdeskClient::GetMany) check it and fall back to one at a time. The curl client
// is thread-safe: it keeps a pool of easy handles, one per concurrent request, each keeping its connection
// alive between requests. Lifetime: the caller owns the client and keeps it alive while requests run.
// Folder: net/ (HTTP and the account request layer) may include core/ only (docs/ARCHITECTURE.md).
#pragma once

#include <chrono>
#include <map>
#include <memory>
#include <string>
#include <string_view>
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
  // True when Send may run on several threads at once.
  virtual bool IsThreadSafe() const { return false; }
};

// Transport failures name their cause, e.g. "GET URL failed (connection refused): …".
std::unique_ptr<HttpClient> MakeCurlHttpClient();

// What a transport failure of MakeCurlHttpClient() says about the server, as words that follow "HOST:PORT ":
// "refuses connections", "does not resolve (DNS failure)", "does not answer in time (timeout)", "fails the
// TLS handshake", "drops connections", "cannot be connected to"; "fails requests" when the cause is unknown.
std::string DescribeTransportFailure(std::string_view message);

}  // namespace deskpipe::net
