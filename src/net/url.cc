#include "net/url.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cstdint>

namespace deskpipe::net {
namespace {

std::string ToLower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

std::optional<int64_t> ParseInt(const std::string& t) {
  int64_t value = 0;
  auto [ptr, ec] = std::from_chars(t.data(), t.data() + t.size(), value);
  if (ec != std::errc() || ptr != t.data() + t.size() || t.empty()) return std::nullopt;
  return value;
}

}  // namespace

std::optional<UrlParts> ParseUrl(const std::string& url) {
  size_t sep = url.find("://");
  if (sep == std::string::npos || sep == 0) return std::nullopt;
  UrlParts parts;
  parts.scheme = ToLower(url.substr(0, sep));
  size_t authority_begin = sep + 3;
  size_t authority_end = url.find_first_of("/?#", authority_begin);
  if (authority_end == std::string::npos) authority_end = url.size();
  std::string authority = url.substr(authority_begin, authority_end - authority_begin);
  parts.rest = url.substr(authority_end);
  if (authority.find('@') != std::string::npos) return std::nullopt;  // no userinfo in URLs we accept
  if (!authority.empty() && authority[0] == '[') {
    size_t close = authority.find(']');
    if (close == std::string::npos) return std::nullopt;
    parts.host = authority.substr(1, close - 1);
    if (close + 1 < authority.size()) {
      if (authority[close + 1] != ':') return std::nullopt;
      parts.port = authority.substr(close + 2);
    }
  } else {
    size_t colon = authority.rfind(':');
    if (colon != std::string::npos) {
      parts.host = authority.substr(0, colon);
      parts.port = authority.substr(colon + 1);
    } else {
      parts.host = authority;
    }
  }
  parts.host = ToLower(parts.host);
  if (parts.host.empty()) return std::nullopt;
  for (char c : parts.port) {
    if (!std::isdigit(static_cast<unsigned char>(c))) return std::nullopt;
  }
  if (!parts.port.empty()) {
    const std::optional<int64_t> port = parts.port.size() <= 5 ? ParseInt(parts.port) : std::nullopt;
    if (!port || *port < 1 || *port > 65535) return std::nullopt;  // not a TCP port
  }
  return parts;
}

std::string Origin(const UrlParts& p) {
  std::string port = p.port;
  if (port.empty()) port = p.scheme == "https" ? "443" : "80";
  return p.scheme + "://" + p.host + ":" + port;
}

bool IsLoopbackHost(const std::string& host) {
  if (host == "localhost" || host == "::1" || host == "0:0:0:0:0:0:0:1") return true;
  // 127.0.0.0/8 as a dotted quad.
  int octets = 0;
  size_t pos = 0;
  int first = -1;
  while (pos <= host.size()) {
    size_t dot = host.find('.', pos);
    if (dot == std::string::npos) dot = host.size();
    std::string part = host.substr(pos, dot - pos);
    auto value = ParseInt(part);
    if (part.empty() || part.size() > 3 || !value || *value > 255 ||
        !std::all_of(part.begin(), part.end(), [](unsigned char c) { return std::isdigit(c); })) {
      return false;
    }
    if (octets == 0) first = static_cast<int>(*value);
    ++octets;
    pos = dot + 1;
  }
  return octets == 4 && first == 127;
}

Result<std::string> ApiBaseFromOverride(const std::string& raw, const std::vector<std::string>& allowed_hosts,
                                        const ApiBaseOverrideNames& names) {
  auto trim = [](std::string text) {
    const size_t first = text.find_first_not_of(" \t\r\n");
    if (first == std::string::npos) return std::string();
    return text.substr(first, text.find_last_not_of(" \t\r\n") - first + 1);
  };
  std::string url = trim(raw);
  auto parts = ParseUrl(url);
  if (!parts || (parts->scheme != "http" && parts->scheme != "https")) {
    return Error(
        InvalidArgument("the " + names.platform + " base URL '" + url + "' (" + names.settings +
                        ") is not an http(s) URL like http://127.0.0.1:8080: a scheme, a host, and a port "
                        "in 1..65535 if any"));
  }
  bool allowed = IsLoopbackHost(parts->host);
  for (const std::string& host : allowed_hosts) allowed = allowed || ToLower(trim(host)) == parts->host;
  if (!allowed) {
    return Error(
        InvalidArgument(names.env + " host '" + parts->host +
                        "' is not loopback and not listed in DESKPIPE_ALLOWED_HOSTS; add it there or use " +
                        names.real_account));
  }
  const size_t query = url.find_first_of("?#", url.find("://") + 3);
  if (query != std::string::npos) url.erase(query);
  while (!url.empty() && url.back() == '/') url.pop_back();
  const std::string suffix = "/api/v2";
  if (url.size() < suffix.size() || url.compare(url.size() - suffix.size(), suffix.size(), suffix) != 0) {
    url += suffix;
  }
  return url;
}

}  // namespace deskpipe::net
