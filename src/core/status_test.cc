#include "core/status.h"

#include <gtest/gtest.h>

#include <string>

namespace deskpipe {
namespace {

TEST(StatusTest, DefaultIsOk) {
  Status s;
  EXPECT_TRUE(s.ok());
  EXPECT_EQ(s.code(), StatusCode::kOk);
  EXPECT_EQ(s.ToString(), "OK");
  EXPECT_TRUE(Status::Ok().ok());
}

TEST(StatusTest, HelpersSetCodeAndMessage) {
  struct Case {
    Status status;
    StatusCode code;
    const char* name;
  };
  const Case cases[] = {
      {InvalidArgument("m"), StatusCode::kInvalidArgument, "InvalidArgument"},
      {Unauthenticated("m"), StatusCode::kUnauthenticated, "Unauthenticated"},
      {PermissionDenied("m"), StatusCode::kPermissionDenied, "PermissionDenied"},
      {NotFound("m"), StatusCode::kNotFound, "NotFound"},
      {RateLimited("m"), StatusCode::kRateLimited, "RateLimited"},
      {Unavailable("m"), StatusCode::kUnavailable, "Unavailable"},
      {InvalidRecord("m"), StatusCode::kInvalidRecord, "InvalidRecord"},
      {Cancelled("m"), StatusCode::kCancelled, "Cancelled"},
      {Internal("m"), StatusCode::kInternal, "Internal"},
      {DataLoss("m"), StatusCode::kDataLoss, "DataLoss"},
  };
  for (const Case& c : cases) {
    EXPECT_FALSE(c.status.ok()) << c.name;
    EXPECT_EQ(c.status.code(), c.code) << c.name;
    EXPECT_EQ(c.status.message(), "m");
    EXPECT_EQ(StatusCodeName(c.code), c.name);
    EXPECT_EQ(c.status.ToString(), std::string(c.name) + ": m");
  }
}

TEST(StatusTest, WithContextPrefixesAndKeepsCodeAndRetryAfter) {
  Status s = RateLimited("slow down");
  s.set_retry_after(std::chrono::milliseconds(1500));
  Status wrapped = s.WithContext("GET /api/v2/tickets");
  EXPECT_EQ(wrapped.code(), StatusCode::kRateLimited);
  EXPECT_EQ(wrapped.message(), "GET /api/v2/tickets: slow down");
  ASSERT_TRUE(wrapped.retry_after().has_value());
  EXPECT_EQ(*wrapped.retry_after(), std::chrono::milliseconds(1500));
  EXPECT_EQ(s.message(), "slow down");  // the original is unchanged
}

TEST(StatusTest, ToResult) {
  EXPECT_TRUE(ToResult(Status::Ok()).has_value());
  Result<void> r = ToResult(NotFound("gone"));
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code(), StatusCode::kNotFound);
}

Result<int> ParsePositive(int v) {
  if (v <= 0) return Error(InvalidArgument("not positive: " + std::to_string(v)));
  return v;
}

Result<int> Doubled(int v, int* reached) {
  ASSIGN_OR_RETURN(int x, ParsePositive(v));
  ++*reached;
  return x * 2;
}

Result<void> CheckBoth(int a, int b, int* reached) {
  RETURN_IF_ERROR(ParsePositive(a));
  ++*reached;
  RETURN_IF_ERROR(ParsePositive(b));
  ++*reached;
  return {};
}

TEST(StatusTest, AssignOrReturnPropagates) {
  int reached = 0;
  Result<int> ok = Doubled(21, &reached);
  ASSERT_TRUE(ok.has_value());
  EXPECT_EQ(*ok, 42);
  EXPECT_EQ(reached, 1);

  Result<int> bad = Doubled(-3, &reached);
  ASSERT_FALSE(bad.has_value());
  EXPECT_EQ(bad.error().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(bad.error().message(), "not positive: -3");
  EXPECT_EQ(reached, 1);  // stopped before the increment
}

TEST(StatusTest, ReturnIfErrorPropagates) {
  int reached = 0;
  EXPECT_TRUE(CheckBoth(1, 2, &reached).has_value());
  EXPECT_EQ(reached, 2);

  reached = 0;
  Result<void> r = CheckBoth(1, 0, &reached);
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().message(), "not positive: 0");
  EXPECT_EQ(reached, 1);

  reached = 0;
  EXPECT_FALSE(CheckBoth(-1, 1, &reached).has_value());
  EXPECT_EQ(reached, 0);
}

TEST(StatusTest, AssignOrReturnTwiceInOneScope) {
  auto f = []() -> Result<int> {
    ASSIGN_OR_RETURN(int a, ParsePositive(2));
    ASSIGN_OR_RETURN(int b, ParsePositive(3));
    return a + b;
  };
  EXPECT_EQ(f().value(), 5);
}

}  // namespace
}  // namespace deskpipe
