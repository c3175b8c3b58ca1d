// Test helper: a scripted HttpClient. Requests must arrive in the order expected (URL compared exactly);
// when the script is exhausted an optional handler answers; anything else fails the test. The destructor
// fails the test if an expected request never came. No network, no sleeps. Not thread-safe.
#pragma once

#include <gtest/gtest.h>

#include <deque>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "net/http_client.h"

namespace deskpipe::freshdesk::testing {

class FakeHttpClient : public net::HttpClient {
 public:
  using Handler = std::function<std::optional<net::HttpResponse>(const net::HttpRequest&)>;

  ~FakeHttpClient() override {
    for (const auto& e : script_) ADD_FAILURE() << "expected request never came: GET " << e.url;
  }

  void Expect(std::string url, long status, std::string body,
              std::map<std::string, std::string> headers = {}) {
    net::HttpResponse response;
    response.status = status;
    response.body = std::move(body);
    response.headers = std::move(headers);
    script_.push_back({std::move(url), std::move(response), std::nullopt});
  }
  void ExpectTransportError(std::string url, Status error) {
    script_.push_back({std::move(url), {}, std::move(error)});
  }
  void set_handler(Handler handler) { handler_ = std::move(handler); }

  Result<net::HttpResponse> Send(const net::HttpRequest& request) override {
    requests_.push_back(request);
    if (!script_.empty()) {
      Step step = std::move(script_.front());
      script_.pop_front();
      EXPECT_EQ(request.url, step.url);
      if (step.error) return Error(*step.error);
      return step.response;
    }
    if (handler_) {
      if (auto response = handler_(request)) return *response;
    }
    ADD_FAILURE() << "unexpected request: " << request.method << " " << request.url;
    return Error(Internal("unexpected request " + request.url));
  }

  const std::vector<net::HttpRequest>& requests() const { return requests_; }
  size_t pending() const { return script_.size(); }

 private:
  struct Step {
    std::string url;
    net::HttpResponse response;
    std::optional<Status> error;
  };
  std::deque<Step> script_;
  Handler handler_;
  std::vector<net::HttpRequest> requests_;
};

inline std::map<std::string, std::string> NextLink(const std::string& url) {
  return {{"link", "<" + url + ">; rel=\"next\""}};
}

}  // namespace deskpipe::freshdesk::testing
