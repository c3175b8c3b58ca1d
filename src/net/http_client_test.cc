#include "net/http_client.h"

#include <gtest/gtest.h>
#include <httplib.h>

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>
#include <vector>

namespace deskpipe::net {
namespace {

// A loopback server on a free port, stopped on destruction.
class LoopbackServer {
 public:
  LoopbackServer() {
    server_.Get("/echo", [](const httplib::Request& req, httplib::Response& res) {
      res.set_header("X-RateLimit-Remaining", "42");
      res.set_header("Link", "<http://x/next>; rel=\"next\"");
      res.set_content(req.get_header_value("Authorization") + "|" + req.get_header_value("Accept") + "|" +
                          req.get_header_value("Accept-Encoding"),
                      "text/plain");
    });
    server_.Get("/big", [](const httplib::Request&, httplib::Response& res) {
      res.set_content(std::string(100000, 'a'), "application/json");  // compressed when the client asks
    });
    server_.Get("/redirect",
                [](const httplib::Request&, httplib::Response& res) { res.set_redirect("/echo"); });
    server_.Get("/slow", [this](const httplib::Request&, httplib::Response& res) {
      std::unique_lock<std::mutex> lock(mutex_);
      ++waiting_;
      released_cv_.notify_all();
      released_cv_.wait(lock, [this] { return released_; });  // answers only once the test lets it
      res.set_content("late", "text/plain");
    });
    port_ = server_.bind_to_any_port("127.0.0.1");
    thread_ = std::thread([this] { server_.listen_after_bind(); });
    while (!server_.is_running()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  ~LoopbackServer() {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      released_ = true;
    }
    released_cv_.notify_all();
    server_.stop();
    thread_.join();
  }
  // True once `n` requests to /slow are being handled at the same time (gives up after 20 s).
  bool WaitForSlowRequests(int n) {
    std::unique_lock<std::mutex> lock(mutex_);
    return released_cv_.wait_for(lock, std::chrono::seconds(20), [&] { return waiting_ >= n; });
  }
  void ReleaseSlowRequests() {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      released_ = true;
    }
    released_cv_.notify_all();
  }
  std::string Url(const std::string& path) const {
    return "http://127.0.0.1:" + std::to_string(port_) + path;
  }

 private:
  httplib::Server server_;
  int port_ = 0;
  std::thread thread_;
  std::mutex mutex_;
  std::condition_variable released_cv_;
  bool released_ = false;
  int waiting_ = 0;
};

TEST(CurlHttpClientTest, SendsHeadersAuthAndCollectsLowerCasedHeaders) {
  LoopbackServer server;
  auto client = MakeCurlHttpClient();
  HttpRequest request;
  request.url = server.Url("/echo");
  request.headers.emplace_back("Accept", "application/json");
  request.basic_auth = "key:X";
  for (int i = 0; i < 2; ++i) {  // the handle is reused
    auto response = client->Send(request);
    ASSERT_TRUE(response) << response.error().ToString();
    EXPECT_EQ(response->status, 200);
    EXPECT_EQ(response->body.substr(0, response->body.find('|', response->body.find('|') + 1)),
              "Basic a2V5Olg=|application/json");  // base64("key:X")
    EXPECT_NE(response->body.find("gzip"), std::string::npos) << response->body;
    EXPECT_EQ(response->headers.count("x-ratelimit-remaining"), 1u);
    EXPECT_EQ(response->Header("X-RateLimit-Remaining"), "42");
    EXPECT_EQ(response->Header("LINK"), "<http://x/next>; rel=\"next\"");
  }
  // Credentials are not carried over to a request that sets none.
  request.basic_auth.clear();
  auto anonymous = client->Send(request);
  ASSERT_TRUE(anonymous);
  EXPECT_EQ(anonymous->body.substr(0, 1), "|");
}

TEST(CurlHttpClientTest, DecodesCompressedBodies) {
  LoopbackServer server;
  auto client = MakeCurlHttpClient();
  HttpRequest request;
  request.url = server.Url("/big");
  auto response = client->Send(request);
  ASSERT_TRUE(response) << response.error().ToString();
  EXPECT_FALSE(response->Header("content-encoding").empty());  // it did travel compressed (gzip or br)
  EXPECT_EQ(response->body, std::string(100000, 'a'));
}

TEST(CurlHttpClientTest, DoesNotFollowRedirects) {
  LoopbackServer server;
  auto client = MakeCurlHttpClient();
  HttpRequest request;
  request.url = server.Url("/redirect");
  auto response = client->Send(request);
  ASSERT_TRUE(response);
  EXPECT_EQ(response->status, 302);
  EXPECT_NE(response->Header("location").find("/echo"), std::string::npos);
}

TEST(CurlHttpClientTest, TransportErrorsAreUnavailableWithUrl) {
  auto client = MakeCurlHttpClient();
  HttpRequest request;
  {
    LoopbackServer server;  // take a free port, then close it
    request.url = server.Url("/gone");
  }
  auto refused = client->Send(request);
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code(), StatusCode::kUnavailable);
  EXPECT_NE(refused.error().message().find(request.url), std::string::npos) << refused.error().message();
  EXPECT_EQ(DescribeTransportFailure(refused.error().message()), "refuses connections") << refused.error().message();

  LoopbackServer server;
  request.url = server.Url("/slow");
  request.timeout = std::chrono::milliseconds(200);
  auto timed_out = client->Send(request);
  ASSERT_FALSE(timed_out);
  EXPECT_EQ(timed_out.error().code(), StatusCode::kUnavailable);
  EXPECT_EQ(DescribeTransportFailure(timed_out.error().message()), "does not answer in time (timeout)")
      << timed_out.error().message();
}

TEST(CurlHttpClientTest, ConcurrentSendsRunSideBySide) {
  LoopbackServer server;
  auto client = MakeCurlHttpClient();
  ASSERT_TRUE(client->IsThreadSafe());
  std::vector<std::thread> threads;
  std::vector<long> statuses(3, 0);
  for (int i = 0; i < 3; ++i) {
    threads.emplace_back([&, i] {
      HttpRequest request;
      request.url = server.Url("/slow");
      auto response = client->Send(request);
      statuses[i] = response ? response->status : -1;
    });
  }
  // All three must be inside the server at once: a client that serialized Send would leave two queued.
  const bool side_by_side = server.WaitForSlowRequests(3);
  server.ReleaseSlowRequests();
  for (auto& t : threads) t.join();
  EXPECT_TRUE(side_by_side);
  for (long status : statuses) EXPECT_EQ(status, 200);
}

}  // namespace
}  // namespace deskpipe::net
