#include "net/api_error.h"

#include <gtest/gtest.h>

namespace deskpipe::net {
namespace {

using std::chrono::milliseconds;

TEST(ApiErrorTest, ParsesRetryAfterSecondsAndDates) {
  const auto now = std::chrono::system_clock::from_time_t(1700000000);  // Tue, 14 Nov 2023 22:13:20 GMT
  EXPECT_EQ(ParseRetryAfter("3", now), milliseconds(3000));
  EXPECT_EQ(ParseRetryAfter(" 0.5 ", now), milliseconds(500));
  EXPECT_EQ(ParseRetryAfter("Tue, 14 Nov 2023 22:13:30 GMT", now), milliseconds(10000));
  EXPECT_EQ(ParseRetryAfter("Tue, 14 Nov 2023 22:13:00 GMT", now), milliseconds(0));
  EXPECT_FALSE(ParseRetryAfter("", now));
  EXPECT_FALSE(ParseRetryAfter("soon", now));
  EXPECT_FALSE(ParseRetryAfter("-1", now));
}

TEST(ApiErrorTest, ServerMessageIsTheApisOwnShortOneLineAndMasked) {
  EXPECT_EQ(ServerErrorMessage(R"({"error": {"message": "Invalid model", "type": "x"}})", "sk-1"),
            "Invalid model");
  EXPECT_EQ(ServerErrorMessage(R"({"error": "quota\nexceeded"})", "sk-1"), "quota exceeded");
  EXPECT_EQ(ServerErrorMessage("<html>Bad gateway</html>", ""), "<html>Bad gateway</html>");
  EXPECT_EQ(ServerErrorMessage("", "sk-1"), "empty body");
  EXPECT_EQ(ServerErrorMessage("header Authorization: Bearer sk-secret echoed", "sk-secret"),
            "header Authorization: Bearer *** echoed");
  // Masked before it is cut: a key straddling the 200-byte limit leaves no prefix of itself behind.
  const std::string key = "sk-0123456789abcdef";
  const std::string cut = ServerErrorMessage(std::string(190, 'x') + key + " tail", key);
  EXPECT_EQ(cut.find("sk-0"), std::string::npos) << cut;
  EXPECT_LE(cut.size(), 200u);
  // Cut on a UTF-8 boundary: 199 ASCII bytes then a 2-byte letter keeps only the ASCII.
  EXPECT_EQ(ServerErrorMessage(std::string(199, 'a') + "é", ""), std::string(199, 'a'));
}

TEST(ApiErrorTest, StatusClassesAndTheKeyHint) {
  EXPECT_EQ(ClassifyHttpStatus(400, "w", "k").code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(ClassifyHttpStatus(422, "w", "k").code(), StatusCode::kInvalidArgument);
  const Status unauthenticated = ClassifyHttpStatus(401, "w", "openai_api_key");
  EXPECT_EQ(unauthenticated.code(), StatusCode::kUnauthenticated);
  EXPECT_NE(unauthenticated.message().find("check openai_api_key"), std::string::npos);
  EXPECT_EQ(ClassifyHttpStatus(403, "w", "k").code(), StatusCode::kPermissionDenied);
  EXPECT_EQ(ClassifyHttpStatus(429, "w", "k").code(), StatusCode::kRateLimited);
  EXPECT_EQ(ClassifyHttpStatus(408, "w", "k").code(), StatusCode::kUnavailable);
  EXPECT_EQ(ClassifyHttpStatus(503, "w", "k").code(), StatusCode::kUnavailable);
  EXPECT_EQ(ClassifyHttpStatus(302, "w", "k").code(), StatusCode::kInternal);
}

}  // namespace
}  // namespace deskpipe::net
