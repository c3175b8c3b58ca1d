#include "platforms/freshdesk/attachments.h"

#include <gtest/gtest.h>

#include "platforms/freshdesk/fake_http_client.h"

namespace deskpipe::freshdesk {
namespace {

using nlohmann::json;
using testing::FakeHttpClient;

TEST(ParseAttachmentsTest, SizeOrFileSizeAndIdsRequired) {
  json parent = json::parse(R"({"attachments": [
      {"id": 67009911302, "name": "a.png", "content_type": "image/png", "size": 184220, "attachment_url": "https://s3/a"},
      {"id": 2, "name": "b.pdf", "file_size": 10, "attachment_url": "https://s3/b"},
      {"name": "no id"}, 7]})");
  auto refs = ParseAttachments(parent);
  ASSERT_EQ(refs.size(), 2u);
  EXPECT_EQ(refs[0].attachment.id, "67009911302");
  EXPECT_EQ(refs[0].attachment.declared_type, "image/png");
  EXPECT_EQ(refs[0].attachment.size, 184220);
  EXPECT_EQ(refs[1].attachment.size, 10);
  EXPECT_EQ(refs[1].url, "https://s3/b");
  EXPECT_TRUE(ParseAttachments(json::parse(R"({"attachments": null})")).empty());
}

TEST(AttachmentDownloaderTest, DownloadsResignsOnceAndRecordsFailures) {
  FakeHttpClient http;
  AttachmentDownloader downloader(http, {.max_bytes = 100});
  std::vector<AttachmentRef> refs(4);
  refs[0].attachment.id = "1";
  refs[0].url = "https://s3/1?sig=old";
  refs[1].attachment.id = "2";
  refs[1].url = "https://s3/2?sig=old";
  refs[2].attachment.id = "3";
  refs[2].attachment.size = 101;
  refs[2].url = "https://s3/3";
  refs[3].attachment.id = "4";
  refs[3].url = "https://s3/4";
  http.Expect("https://s3/1?sig=old", 403, "<Error>AccessDenied</Error>");
  http.Expect("https://s3/1?sig=new", 200, "one");
  http.Expect("https://s3/2?sig=old", 403, "expired");
  http.Expect("https://s3/2?sig=new", 200, "two");
  http.Expect("https://s3/4", 500, "boom");
  int resigns = 0;
  auto out = downloader.DownloadAll(refs, [&]() -> Result<std::vector<AttachmentRef>> {
    ++resigns;
    std::vector<AttachmentRef> fresh(2);
    fresh[0].attachment.id = "1";
    fresh[0].url = "https://s3/1?sig=new";
    fresh[1].attachment.id = "2";
    fresh[1].url = "https://s3/2?sig=new";
    return fresh;
  });
  ASSERT_EQ(out.size(), 4u);
  EXPECT_EQ(out[0].bytes, "one");
  EXPECT_EQ(out[1].bytes, "two");
  EXPECT_NE(out[0].content_hash, out[1].content_hash);
  EXPECT_EQ(resigns, 1) << "the parent is re-fetched once per download round";
  EXPECT_NE(out[2].download_error.find("exceeds the limit"), std::string::npos);
  EXPECT_NE(out[3].download_error.find("HTTP 500"), std::string::npos);
  for (const auto& request : http.requests()) EXPECT_TRUE(request.basic_auth.empty());
  EXPECT_EQ(downloader.stats().downloaded, 2);
  EXPECT_EQ(downloader.stats().resigned, 2);
  EXPECT_EQ(downloader.stats().refused, 1);
  EXPECT_EQ(downloader.stats().failed, 1);
}

}  // namespace
}  // namespace deskpipe::freshdesk
