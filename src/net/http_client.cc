#include "net/http_client.h"

#include <curl/curl.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace deskpipe::net {
namespace {

constexpr std::string_view kCauseRefused = "connection refused";
constexpr std::string_view kCauseConnect = "cannot connect";
constexpr std::string_view kCauseDns = "DNS failure";
constexpr std::string_view kCauseTimeout = "timeout";
constexpr std::string_view kCauseTls = "TLS failure";
constexpr std::string_view kCauseReset = "connection dropped";
constexpr std::string_view kCauseOther = "transport error";

std::string ToLower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  return s;
}

std::string Trim(const std::string& s) {
  size_t begin = 0;
  size_t end = s.size();
  while (begin < end && std::isspace(static_cast<unsigned char>(s[begin]))) ++begin;
  while (end > begin && std::isspace(static_cast<unsigned char>(s[end - 1]))) --end;
  return s.substr(begin, end - begin);
}

// The cause a transport failure is filed under, from curl's code and the connect's errno (curl ≥ 7.86 no longer
// says "refused" in its text) — the words DescribeTransportFailure reads.
std::string_view TransportCauseName(CURLcode code, long os_errno) {
  switch (code) {
    case CURLE_COULDNT_CONNECT:
      return os_errno == ECONNREFUSED ? kCauseRefused : kCauseConnect;
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY:
      return kCauseDns;
    case CURLE_OPERATION_TIMEDOUT:
      return kCauseTimeout;
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CIPHER:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_ISSUER_ERROR:
      return kCauseTls;
    case CURLE_GOT_NOTHING:
    case CURLE_RECV_ERROR:
    case CURLE_SEND_ERROR:
    case CURLE_PARTIAL_FILE:
      return kCauseReset;
    default:
      return kCauseOther;
  }
}

size_t WriteBody(char* data, size_t size, size_t count, void* user) {
  static_cast<std::string*>(user)->append(data, size * count);
  return size * count;
}

// Called once per header line, including the status line and the blank line ending the block. Headers of an
// intermediate response (100-continue) are discarded when a new status line arrives.
size_t WriteHeader(char* data, size_t size, size_t count, void* user) {
  auto* headers = static_cast<std::map<std::string, std::string>*>(user);
  std::string line(data, size * count);
  if (line.rfind("HTTP/", 0) == 0) {
    headers->clear();
    return size * count;
  }
  size_t colon = line.find(':');
  if (colon != std::string::npos) {
    std::string name = ToLower(Trim(line.substr(0, colon)));
    std::string value = Trim(line.substr(colon + 1));
    auto [it, inserted] = headers->emplace(name, value);
    if (!inserted) it->second += ", " + value;  // repeated header: join as HTTP allows
  }
  return size * count;
}

// A pool of easy handles: each Send borrows one (or makes one) and returns it, so a handle — and the
// connection it keeps alive — is reused by later requests, and concurrent requests each have their own.
class CurlHttpClient : public HttpClient {
 public:
  CurlHttpClient() {
    static std::once_flag once;
    std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
  }
  ~CurlHttpClient() override {
    for (CURL* h : idle_) curl_easy_cleanup(h);
  }
  CurlHttpClient(const CurlHttpClient&) = delete;
  CurlHttpClient& operator=(const CurlHttpClient&) = delete;

  bool IsThreadSafe() const override { return true; }

  Result<HttpResponse> Send(const HttpRequest& request) override {
    CURL* h = Borrow();
    if (h == nullptr) return Error(Internal("curl_easy_init failed"));
    auto result = Perform(h, request);
    Return(h);
    return result;
  }

 private:
  CURL* Borrow() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (!idle_.empty()) {
        CURL* h = idle_.back();
        idle_.pop_back();
        return h;
      }
    }
    return curl_easy_init();
  }
  void Return(CURL* h) {
    std::lock_guard<std::mutex> lock(mu_);
    idle_.push_back(h);
  }

  static Result<HttpResponse> Perform(CURL* h, const HttpRequest& request) {
    curl_easy_reset(h);  // keeps the connection cache; clears per-request options

    HttpResponse response;
    char error_buffer[CURL_ERROR_SIZE] = {0};
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, error_buffer);
    curl_easy_setopt(h, CURLOPT_URL, request.url.c_str());
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(h, CURLOPT_ACCEPT_ENCODING, "");
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, 10000L);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, static_cast<long>(request.timeout.count()));
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, &WriteBody);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &response.body);
    curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, &WriteHeader);
    curl_easy_setopt(h, CURLOPT_HEADERDATA, &response.headers);

    if (request.method == "GET") {
      curl_easy_setopt(h, CURLOPT_HTTPGET, 1L);
    } else if (request.method == "HEAD") {
      curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
    } else {
      curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, request.method.c_str());
    }
    if (!request.body.empty() || request.method == "POST" || request.method == "PUT") {
      curl_easy_setopt(h, CURLOPT_POSTFIELDS, request.body.data());
      curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(request.body.size()));
    }
    if (!request.basic_auth.empty()) {
      curl_easy_setopt(h, CURLOPT_HTTPAUTH, CURLAUTH_BASIC);
      curl_easy_setopt(h, CURLOPT_USERPWD, request.basic_auth.c_str());
    }

    struct curl_slist* header_list = nullptr;
    for (const auto& [name, value] : request.headers) {
      std::string line = name + ": " + value;
      header_list = curl_slist_append(header_list, line.c_str());
    }
    if (header_list != nullptr) curl_easy_setopt(h, CURLOPT_HTTPHEADER, header_list);

    CURLcode code = curl_easy_perform(h);
    curl_slist_free_all(header_list);
    // Do not leave the credentials in the handle between requests.
    curl_easy_setopt(h, CURLOPT_USERPWD, nullptr);
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, nullptr);  // the buffer dies with this frame

    if (code != CURLE_OK) {
      std::string text = error_buffer[0] != '\0' ? std::string(error_buffer) : curl_easy_strerror(code);
      long os_errno = 0;
      curl_easy_getinfo(h, CURLINFO_OS_ERRNO, &os_errno);
      return Error(Unavailable(request.method + " " + request.url + " failed (" +
                               std::string(TransportCauseName(code, os_errno)) + "): " + text));
    }
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &response.status);
    return response;
  }

  std::mutex mu_;
  std::vector<CURL*> idle_;
};

}  // namespace

std::string HttpResponse::Header(const std::string& name) const {
  std::string lower = ToLower(name);
  auto it = headers.find(lower);
  if (it != headers.end()) return it->second;
  for (const auto& [key, value] : headers) {  // tolerate maps filled by hand with mixed-case names
    if (ToLower(key) == lower) return value;
  }
  return std::string();
}

std::string DescribeTransportFailure(std::string_view message) {
  static constexpr std::pair<std::string_view, std::string_view> kPhrases[] = {
      {kCauseRefused, "refuses connections"},
      {kCauseConnect, "cannot be connected to"},
      {kCauseDns, "does not resolve (DNS failure)"},
      {kCauseTimeout, "does not answer in time (timeout)"},
      {kCauseTls, "fails the TLS handshake"},
      {kCauseReset, "drops connections"},
  };
  for (const auto& [cause, phrase] : kPhrases) {
    if (message.find(" failed (" + std::string(cause) + "): ") != std::string_view::npos) return std::string(phrase);
  }
  return "fails requests";
}

std::unique_ptr<HttpClient> MakeCurlHttpClient() { return std::make_unique<CurlHttpClient>(); }

}  // namespace deskpipe::net
