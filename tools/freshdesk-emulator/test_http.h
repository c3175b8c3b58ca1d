// HTTP helpers for the emulator's own tests: one libcurl request with Basic auth, headers captured with
// lower-case names, and the Link header's next URL. Test-only; each call is independent (no shared state).
#pragma once

#include <curl/curl.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>
#include <map>
#include <regex>
#include <string>

#include <nlohmann/json.hpp>

namespace deskpipe::emulator::testing {

inline constexpr char kApiKey[] = "test-key-123";

struct HttpResult {
  long status = 0;
  std::map<std::string, std::string> headers;  // lower-case names
  std::string body;
  nlohmann::json Json() const { return nlohmann::json::parse(body); }
  std::string Header(const std::string& name) const {
    auto it = headers.find(name);
    return it == headers.end() ? "" : it->second;
  }
};

inline size_t WriteBody(char* data, size_t size, size_t count, void* out) {
  static_cast<std::string*>(out)->append(data, size * count);
  return size * count;
}

inline size_t WriteHeader(char* data, size_t size, size_t count, void* out) {
  std::string line(data, size * count);
  const size_t colon = line.find(':');
  if (colon != std::string::npos) {
    std::string name = line.substr(0, colon);
    std::transform(name.begin(), name.end(), name.begin(), [](unsigned char c) { return std::tolower(c); });
    std::string value = line.substr(colon + 1);
    value.erase(0, value.find_first_not_of(' '));
    value.erase(value.find_last_not_of("\r\n ") + 1);
    (*static_cast<std::map<std::string, std::string>*>(out))[name] = value;
  }
  return size * count;
}

// One GET (or other method) with HTTP Basic auth `user:password`; user empty ⇒ no auth header.
inline HttpResult Fetch(const std::string& url, const std::string& user = kApiKey, const std::string& password = "X",
                 const char* method = nullptr) {
  HttpResult result;
  CURL* curl = curl_easy_init();
  curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, WriteBody);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &result.body);
  curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, WriteHeader);
  curl_easy_setopt(curl, CURLOPT_HEADERDATA, &result.headers);
  const std::string credentials = user + ":" + password;
  if (!user.empty()) curl_easy_setopt(curl, CURLOPT_USERPWD, credentials.c_str());
  if (method != nullptr && std::string(method) == "POST") {
    curl_easy_setopt(curl, CURLOPT_POSTFIELDS, "{}");
  } else if (method != nullptr) {
    curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, method);
  }
  CURLcode code = curl_easy_perform(curl);
  EXPECT_EQ(code, CURLE_OK) << curl_easy_strerror(code) << " for " << url;
  curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &result.status);
  curl_easy_cleanup(curl);
  return result;
}

// The URL inside `<…>; rel="next"`, or "" when there is no next page.
inline std::string NextUrl(const HttpResult& result) {
  static const std::regex kLink("<([^>]+)>;\\s*rel=\"next\"");
  std::smatch match;
  const std::string link = result.Header("link");
  return std::regex_search(link, match, kLink) ? match[1].str() : "";
}

}  // namespace deskpipe::emulator::testing
