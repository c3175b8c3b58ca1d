#include "core/ids.h"

#include <gtest/gtest.h>

#include <string>

namespace deskpipe {
namespace {

TEST(IdsTest, ValidTenantIds) {
  for (const char* id : {"demo", "wedosoft", "a", "0", "acme-corp", "a1-b2-c3", "9lives"}) {
    EXPECT_TRUE(ValidateTenantId(id).has_value()) << id;
  }
  EXPECT_TRUE(ValidateTenantId(std::string(64, 'a')).has_value());
}

TEST(IdsTest, InvalidTenantIds) {
  for (const char* id : {"", "Acme", "ACME", "-acme", "acme_corp", "acme corp", "acme.corp", "acmé", "a/b"}) {
    Result<void> r = ValidateTenantId(id);
    ASSERT_FALSE(r.has_value()) << id;
    EXPECT_EQ(r.error().code(), StatusCode::kInvalidArgument);
    EXPECT_NE(r.error().message().find("'" + std::string(id) + "'"), std::string::npos)
        << r.error().message();
  }
  EXPECT_FALSE(ValidateTenantId(std::string(65, 'a')).has_value());
}

TEST(IdsTest, PlatformIds) {
  EXPECT_TRUE(ValidatePlatformId("freshdesk").has_value());
  EXPECT_TRUE(ValidatePlatformId("zendesk2").has_value());
  for (const char* id : {"", "Freshdesk", "fresh-desk", "fresh_desk", "fresh desk"}) {
    Result<void> r = ValidatePlatformId(id);
    ASSERT_FALSE(r.has_value()) << id;
    EXPECT_EQ(r.error().code(), StatusCode::kInvalidArgument);
  }
}

TEST(IdsTest, DocumentIds) {
  EXPECT_EQ(MakeDocumentId("wedosoft", "freshdesk", "123").value(), "wedosoft_freshdesk_123");
  EXPECT_EQ(QualifiedOriginalId("article", "456"), "article-456");
  EXPECT_EQ(MakeDocumentId("wedosoft", "freshdesk", QualifiedOriginalId("article", "456")).value(),
            "wedosoft_freshdesk_article-456");
  EXPECT_EQ(MakeDocumentId("wedosoft", "freshdesk", QualifiedOriginalId("conversation", "789")).value(),
            "wedosoft_freshdesk_conversation-789");
}

TEST(IdsTest, DocumentIdRejectsBadParts) {
  EXPECT_FALSE(MakeDocumentId("Bad", "freshdesk", "1").has_value());
  EXPECT_FALSE(MakeDocumentId("acme", "Fresh", "1").has_value());
  for (const char* original : {"", "1 2", "1#2", "1\t2", "1\n"}) {
    Result<std::string> r = MakeDocumentId("acme", "freshdesk", original);
    ASSERT_FALSE(r.has_value()) << original;
    EXPECT_EQ(r.error().code(), StatusCode::kInvalidArgument);
  }
}

TEST(IdsTest, ChunkIds) {
  EXPECT_EQ(MakeChunkId("wedosoft_freshdesk_123", 0), "wedosoft_freshdesk_123#0");
  EXPECT_EQ(MakeChunkId("wedosoft_freshdesk_article-456", 12), "wedosoft_freshdesk_article-456#12");
}

}  // namespace
}  // namespace deskpipe
