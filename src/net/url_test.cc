#include "net/url.h"

#include <gtest/gtest.h>

namespace deskpipe::net {
namespace {

TEST(Url, ParsesSchemeHostPortAndRest) {
  auto parts = ParseUrl("HTTP://Acme.Example.COM:8080/api/v2?x=1");
  ASSERT_TRUE(parts.has_value());
  EXPECT_EQ(parts->scheme, "http");
  EXPECT_EQ(parts->host, "acme.example.com");
  EXPECT_EQ(parts->port, "8080");
  EXPECT_EQ(parts->rest, "/api/v2?x=1");
  EXPECT_EQ(Origin(*parts), "http://acme.example.com:8080");
  EXPECT_EQ(ParseUrl("https://[::1]:443/")->host, "::1");
}

TEST(Url, RefusesPortsOutsideTcpRange) {
  for (const char* bad : {"http://127.0.0.1:99999", "http://127.0.0.1:0", "http://127.0.0.1:65536",
                          "http://127.0.0.1:123456789012", "http://[::1]:70000/", "http://127.0.0.1:8o80"}) {
    EXPECT_FALSE(ParseUrl(bad).has_value()) << bad;
  }
  EXPECT_TRUE(ParseUrl("http://127.0.0.1:65535").has_value());
  EXPECT_TRUE(ParseUrl("http://127.0.0.1:1").has_value());
}

TEST(Url, RefusesUserinfoAndEmptyHosts) {
  EXPECT_FALSE(ParseUrl("https://user:pw@acme.freshdesk.com").has_value());
  EXPECT_FALSE(ParseUrl("https://:8080/").has_value());
  EXPECT_FALSE(ParseUrl("acme.freshdesk.com").has_value());
}

}  // namespace
}  // namespace deskpipe::net
