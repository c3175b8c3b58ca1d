// URL pieces the HTTP callers check before sending: scheme and host (is plain http going to loopback only?),
// and the origin (does a `next` link stay on the API's host?). Not a general URL parser: userinfo is refused,
// because credentials travel in headers, never in URLs. Pure functions; thread-safe.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "core/status.h"

namespace deskpipe::net {

struct UrlParts {
  std::string scheme;  // lower-cased
  std::string host;    // lower-cased, without IPv6 brackets
  std::string port;    // "" when absent
  std::string rest;    // path + query, starting with '/' or empty
};

// scheme://host[:port][/path…]; nullopt when malformed, with userinfo, or with a port outside 1..65535.
std::optional<UrlParts> ParseUrl(const std::string& url);

// scheme://host:port with the default port filled in, for same-origin checks.
std::string Origin(const UrlParts& parts);

// localhost, ::1, or a dotted quad in 127.0.0.0/8.
bool IsLoopbackHost(const std::string& host);

// How a platform names its API base override in messages.
struct ApiBaseOverrideNames {
  std::string platform;      // "Freshdesk"
  std::string settings;      // "--base-url, FRESHDESK_BASE_URL"
  std::string env;           // "FRESHDESK_BASE_URL"
  std::string real_account;  // "FRESHDESK_DOMAIN for a real Freshdesk account"
};
// A platform's API base from an override URL (an emulator's, a proxy's): an http(s) URL whose host is
// loopback or in `allowed_hosts`, its query and trailing '/' dropped, "/api/v2" appended unless already
// there.
Result<std::string> ApiBaseFromOverride(const std::string& url, const std::vector<std::string>& allowed_hosts,
                                        const ApiBaseOverrideNames& names);

}  // namespace deskpipe::net
