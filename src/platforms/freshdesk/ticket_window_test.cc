#include "platforms/freshdesk/ticket_window.h"

#include <gtest/gtest.h>

#include "core/time.h"

namespace deskpipe::freshdesk {
namespace {

using nlohmann::json;

TEST(IdSetTest, RunsRoundTripCompactly) {
  std::set<int64_t> ids = {1, 2, 3, 4, 10, 12, 13, 67042965499};
  json encoded = EncodeIdSet(ids);
  EXPECT_EQ(encoded, json::parse("[[1,4],10,12,13,67042965499]"));
  auto decoded = DecodeIdSet(encoded, "x");
  ASSERT_TRUE(decoded);
  EXPECT_EQ(*decoded, ids);
  std::set<int64_t> many;
  for (int64_t id = 1000; id < 51000; ++id) many.insert(id);
  EXPECT_EQ(EncodeIdSet(many).dump(), "[[1000,50999]]");
}

TEST(IdSetTest, BadInputNamesWhere) {
  for (const char* bad : {"{}", "[\"7\"]", "[[5,1]]", "[[1,2,3]]", "[[0,100000000000]]"}) {
    auto decoded = DecodeIdSet(json::parse(bad), "tickets cursor 'max_ids'");
    ASSERT_FALSE(decoded) << bad;
    EXPECT_NE(decoded.error().message().find("tickets cursor 'max_ids'"), std::string::npos);
  }
}

TEST(ListCursorTest, WindowsAdvanceOrSplit) {
  const int64_t s = *ParseTimestamp("2024-05-01T10:00:00Z");
  ListCursor c = ListCursor::Start(s, 100);
  c.Saw(1, s);
  c.Saw(2, s + 5);
  c.Saw(3, s + 5);
  ListCursor next = c.AtPageCap();  // advanced past the first second: a plain new window
  EXPECT_FALSE(next.splitting);
  EXPECT_EQ(next.window_start, s + 5);
  EXPECT_EQ(next.skip_ids, (std::set<int64_t>{2, 3}));
  EXPECT_TRUE(next.AlreadyEmitted(2, s + 5));
  EXPECT_FALSE(next.AlreadyEmitted(2, s + 6)) << "updated again later: emitted again";
  EXPECT_FALSE(next.AlreadyEmitted(4, s + 5));

  next.Saw(4, s + 5);  // a whole window inside second s+5
  ListCursor split = next.AtPageCap();
  EXPECT_TRUE(split.splitting);
  EXPECT_EQ(split.window_start, s + 5);
  EXPECT_EQ(split.max_ids, (std::set<int64_t>{2, 3, 4}));

  split.split_descending = true;
  split.has_asc_last = true;
  split.asc_last_id = 9;
  split.asc_last_created = s - 100;
  auto parsed = ListCursor::Parse(split.ToJson(), 0, 100, "tickets");
  ASSERT_TRUE(parsed) << parsed.error().ToString();
  EXPECT_TRUE(parsed->splitting);
  EXPECT_TRUE(parsed->split_descending);
  EXPECT_EQ(parsed->asc_last_id, 9);
  EXPECT_EQ(parsed->asc_last_created, s - 100);
  EXPECT_EQ(parsed->max_ids, split.max_ids);

  ListCursor after = split.AfterSplit();
  EXPECT_FALSE(after.splitting);
  EXPECT_EQ(after.window_start, s + 6);
  EXPECT_TRUE(after.skip_ids.empty());
}

TEST(ListCursorTest, AcceptsTheOlderCursorShape) {
  auto parsed = ListCursor::Parse(
      json::parse(R"({"window_start":"2020-01-01T10:00:05Z","page":3,"per_page":2,"skip_ids":[2,3],
                      "max_updated_at":"2020-01-01T10:00:09Z","max_ids":[7]})"),
      0, 100, "tickets");
  ASSERT_TRUE(parsed) << parsed.error().ToString();
  EXPECT_EQ(parsed->page, 3);
  EXPECT_EQ(parsed->per_page, 2);
  EXPECT_EQ(parsed->skip_ids, (std::set<int64_t>{2, 3}));
  EXPECT_EQ(FormatTimestamp(parsed->max_ts), "2020-01-01T10:00:09Z");
  EXPECT_FALSE(ListCursor::Parse(json::parse(R"({"window_start":"2020-01-01T00:00:00Z","page":0})"), 0, 100, "t"));
  EXPECT_FALSE(ListCursor::Parse(json("text"), 0, 100, "t"));
}

}  // namespace
}  // namespace deskpipe::freshdesk
