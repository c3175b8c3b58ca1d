#include "core/time.h"

#include <gtest/gtest.h>

#include <string>

namespace deskpipe {
namespace {

std::string Norm(std::string_view text) {
  Result<std::string> r = NormalizeTimestamp(text);
  return r ? *r : "ERROR: " + r.error().message();
}

TEST(TimeTest, ParsesUtc) {
  EXPECT_EQ(ParseTimestamp("1970-01-01T00:00:00Z").value(), 0);
  EXPECT_EQ(ParseTimestamp("2025-03-11T09:42:17Z").value(), 1741686137);
  EXPECT_EQ(Norm("2025-03-11T09:42:17Z"), "2025-03-11T09:42:17Z");
  EXPECT_EQ(Norm("2025-03-11T09:42:17z"), "2025-03-11T09:42:17Z");
  EXPECT_EQ(Norm("2025-03-11T09:42:17"), "2025-03-11T09:42:17Z");  // no zone = UTC
  EXPECT_EQ(Norm("2025-03-11T09:42"), "2025-03-11T09:42:00Z");
}

TEST(TimeTest, OffsetsConvertToUtc) {
  EXPECT_EQ(Norm("2025-03-11T15:12:17+05:30"), "2025-03-11T09:42:17Z");
  EXPECT_EQ(Norm("2025-03-11T15:12:17+0530"), "2025-03-11T09:42:17Z");
  EXPECT_EQ(Norm("2025-03-11T01:42:17-0800"), "2025-03-11T09:42:17Z");
  EXPECT_EQ(Norm("2025-03-11T01:42:17-08:00"), "2025-03-11T09:42:17Z");
  EXPECT_EQ(Norm("2025-03-11T14:42:17+05"), "2025-03-11T09:42:17Z");
  // Crossing a day (and a year) boundary.
  EXPECT_EQ(Norm("2025-01-01T02:00:00+05:30"), "2024-12-31T20:30:00Z");
  EXPECT_EQ(Norm("2024-12-31T20:00:00-05:00"), "2025-01-01T01:00:00Z");
}

TEST(TimeTest, DateOnlyAndFractions) {
  EXPECT_EQ(Norm("2025-03-11"), "2025-03-11T00:00:00Z");
  EXPECT_EQ(Norm("2025-03-11T09:42:17.123Z"), "2025-03-11T09:42:17Z");
  EXPECT_EQ(Norm("2025-03-11T09:42:17.999999+01:00"), "2025-03-11T08:42:17Z");
  EXPECT_EQ(Norm("2025-03-11 09:42:17"), "2025-03-11T09:42:17Z");
}

TEST(TimeTest, LeapDays) {
  EXPECT_EQ(Norm("2024-02-29T12:00:00Z"), "2024-02-29T12:00:00Z");
  EXPECT_EQ(Norm("2000-02-29"), "2000-02-29T00:00:00Z");
  EXPECT_EQ(ParseTimestamp("2024-03-01T00:00:00Z").value() - ParseTimestamp("2024-02-28T00:00:00Z").value(),
            2 * 86400);
  EXPECT_FALSE(ParseTimestamp("2023-02-29").has_value());
  EXPECT_FALSE(ParseTimestamp("1900-02-29").has_value());
}

TEST(TimeTest, RejectsInvalidInput) {
  for (const char* text : {"",
                           "2025",
                           "2025-13-01",
                           "2025-00-10",
                           "2025-04-31",
                           "2025-01-00",
                           "2025-1-1",
                           "25-01-01",
                           "2025-01-01T",
                           "2025-01-01T24:00:00Z",
                           "2025-01-01T10:60:00Z",
                           "2025-01-01T10:00:61Z",
                           "2025-01-01T10:00:00.Z",
                           "2025-01-01T10:00:00+5",
                           "2025-01-01T10:00:00+05:",
                           "2025-01-01T10:00:00+24:00",
                           "2025-01-01T10:00:00+05:60",
                           "2025-01-01T10:00:00ZZ",
                           "2025-01-01T10:00:00 UTC",
                           "2025-01-01X",
                           "yesterday",
                           "2025-01-01T10:00:00Zjunk"}) {
    Result<int64_t> r = ParseTimestamp(text);
    ASSERT_FALSE(r.has_value()) << "accepted: " << text;
    EXPECT_EQ(r.error().code(), StatusCode::kInvalidArgument);
    EXPECT_NE(r.error().message().find("'" + std::string(text) + "'"), std::string::npos)
        << r.error().message();
  }
}

TEST(TimeTest, FormatsNegativeSeconds) {
  EXPECT_EQ(FormatTimestamp(-1), "1969-12-31T23:59:59Z");
  EXPECT_EQ(FormatTimestamp(-86400), "1969-12-31T00:00:00Z");
  EXPECT_EQ(FormatTimestamp(-86401), "1969-12-30T23:59:59Z");
  EXPECT_EQ(ParseTimestamp("1969-12-31T23:59:59Z").value(), -1);
}

TEST(TimeTest, RoundTripOverRange) {
  // Every ~9.7 hours (a step coprime to a day, so all times of day are hit) from 1901 to 2100.
  const int64_t begin = ParseTimestamp("1901-01-01T00:00:00Z").value();
  const int64_t end = ParseTimestamp("2100-12-31T23:59:59Z").value();
  ASSERT_LT(begin, 0);
  int checked = 0;
  for (int64_t t = begin; t <= end; t += 34961) {
    const std::string text = FormatTimestamp(t);
    Result<int64_t> back = ParseTimestamp(text);
    ASSERT_TRUE(back.has_value()) << text;
    ASSERT_EQ(*back, t) << text;
    ++checked;
  }
  EXPECT_GT(checked, 100000);
}

TEST(TimeTest, NowIsAfter2024) { EXPECT_GT(NowUnixSeconds(), ParseTimestamp("2024-01-01").value()); }

}  // namespace
}  // namespace deskpipe
