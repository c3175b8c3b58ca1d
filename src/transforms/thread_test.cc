#include "transforms/thread.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace deskpipe::transforms {
namespace {

Record Ticket(const std::string& number, const std::string& content,
              const std::string& title = "Export fails") {
  Record r;
  r.id = "acme_freshdesk_" + number;
  r.original_id = number;
  r.tenant_id = "acme";
  r.platform = "freshdesk";
  r.type = "ticket";
  r.title = title;
  r.content = content;
  r.status = "open";
  r.priority = "medium";
  r.created_at = "2025-03-01T10:00:00Z";
  r.updated_at = "2025-03-02T10:00:00Z";
  r.metadata = {{"tags", {"export"}}, {"requester_name", "Priya"}};
  return r;
}

Record Conversation(const std::string& number, const std::string& ticket_number,
                    const std::string& created_at, const std::string& role, const std::string& content) {
  Record r;
  r.id = "acme_freshdesk_conversation-" + number;
  r.original_id = "conversation-" + number;
  r.tenant_id = "acme";
  r.platform = "freshdesk";
  r.type = "conversation";
  r.content = content;
  r.created_at = created_at;
  r.updated_at = created_at;
  r.parent_id = "acme_freshdesk_" + ticket_number;
  if (!role.empty()) r.metadata["role"] = role;
  if (role == "private note") r.metadata["private"] = true;
  return r;
}

Record Article(const std::string& number, const std::string& content) {
  Record r;
  r.id = "acme_freshdesk_article-" + number;
  r.original_id = "article-" + number;
  r.tenant_id = "acme";
  r.platform = "freshdesk";
  r.type = "article";
  r.title = "Exporting reports";
  r.content = content;
  r.status = "published";
  r.created_at = "2025-01-01T00:00:00Z";
  r.updated_at = "2025-01-05T00:00:00Z";
  r.metadata = {{"folder_visibility", "all"}};
  return r;
}

std::vector<std::string> Labels(const Document& d) {
  std::vector<std::string> out;
  for (const Section& s : d.sections) out.push_back(s.label);
  return out;
}

std::vector<std::string> Texts(const Document& d) {
  std::vector<std::string> out;
  for (const Section& s : d.sections) out.push_back(s.text);
  return out;
}

TEST(ConvertRecordContent, ConvertsHtmlAndClearsFlag) {
  Record r = Ticket("1", "<div>Hello<br>World &amp; co</div>");
  r.content_is_html = true;
  ASSERT_TRUE(ConvertRecordContent(r).has_value());
  EXPECT_EQ(r.content, "Hello\nWorld & co");
  EXPECT_FALSE(r.content_is_html);
}

TEST(ConvertRecordContent, LeavesTextAloneAndRepairsUtf8) {
  Record r = Ticket("1", "a <b> stays", "bad\xFF title");
  ASSERT_TRUE(ConvertRecordContent(r).has_value());
  EXPECT_EQ(r.content, "a <b> stays");
  EXPECT_EQ(r.title, "bad\xEF\xBF\xBD title");
  r.content = "x\xC0y";
  ASSERT_TRUE(ConvertRecordContent(r).has_value());
  EXPECT_EQ(r.content, "x\xEF\xBF\xBDy");
}

TEST(BuildDocuments, ThreadOrderAndLabels) {
  std::vector<Record> records;
  records.push_back(Conversation("30", "1", "2025-03-01T12:00:00Z", "agent", "Second reply"));
  records.push_back(Ticket("1", "The description"));
  records.push_back(Conversation("10", "1", "2025-03-01T11:00:00Z", "agent", "First reply"));
  records.push_back(Conversation("20", "1", "2025-03-01T13:00:00Z", "private note", "Internal"));
  records.push_back(Conversation("9", "1", "2025-03-01T12:00:00Z", "customer", "Same second, lower id"));
  records.push_back(
      Conversation("11", "1", "2025-03-01T14:00:00Z", "customer", "   \n  "));  // empty: skipped

  const std::vector<Document> docs = BuildDocuments(records);
  ASSERT_EQ(docs.size(), 1u);
  const Document& d = docs[0];
  EXPECT_EQ(d.id, "acme_freshdesk_1");
  EXPECT_EQ(d.type, "ticket");
  EXPECT_EQ(d.tenant_id, "acme");
  EXPECT_EQ(d.platform, "freshdesk");
  EXPECT_EQ(d.title, "Export fails");
  EXPECT_EQ(d.state, "active");
  EXPECT_EQ(Labels(d), (std::vector<std::string>{"customer", "agent", "customer", "agent", "private note"}));
  EXPECT_EQ(Texts(d), (std::vector<std::string>{"The description", "First reply", "Same second, lower id",
                                                "Second reply", "Internal"}));
  EXPECT_TRUE(d.chunks.empty());
  EXPECT_FALSE(d.content_hash.empty());
  // Latest activity of the thread.
  EXPECT_EQ(d.updated_at, "2025-03-02T10:00:00Z");
}

TEST(BuildDocuments, MetadataAndState) {
  Record ticket = Ticket("7", "desc");
  std::vector<Record> records{ticket, Conversation("1", "7", "2025-03-01T11:00:00Z", "private note", "note")};
  Document d = BuildDocuments(records).at(0);
  EXPECT_EQ(d.metadata["status"], "open");
  EXPECT_EQ(d.metadata["priority"], "medium");
  EXPECT_EQ(d.metadata["created_at"], "2025-03-01T10:00:00Z");
  EXPECT_EQ(d.metadata["updated_at"], "2025-03-02T10:00:00Z");
  EXPECT_EQ(d.metadata["original_id"], "7");
  EXPECT_EQ(d.metadata["requester_name"], "Priya");
  EXPECT_EQ(d.metadata["tags"], nlohmann::json({"export"}));
  EXPECT_EQ(d.metadata["has_private"], true);
  EXPECT_EQ(d.metadata["message_count"], 2);

  records[1].metadata["role"] = "agent";
  records[1].metadata["private"] = false;
  EXPECT_EQ(BuildDocuments(records).at(0).metadata["has_private"], false);

  records[0].metadata["state"] = "spam";
  EXPECT_EQ(BuildDocuments(records).at(0).state, "spam");
}

TEST(BuildDocuments, RoleFallbacks) {
  std::vector<Record> records{Ticket("1", "desc")};
  records[0].metadata["role"] = "agent";  // an outbound ticket
  Record priv = Conversation("1", "1", "2025-03-01T11:00:00Z", "", "secret");
  priv.metadata["private"] = true;
  Record incoming = Conversation("2", "1", "2025-03-01T12:00:00Z", "", "from customer");
  incoming.metadata["incoming"] = true;
  Record reply = Conversation("3", "1", "2025-03-01T13:00:00Z", "", "from agent");
  records.push_back(priv);
  records.push_back(incoming);
  records.push_back(reply);
  Document d = BuildDocuments(records).at(0);
  EXPECT_EQ(Labels(d), (std::vector<std::string>{"agent", "private note", "customer", "agent"}));
  EXPECT_EQ(d.metadata["has_private"], true);
}

TEST(BuildDocuments, OtherTicketsConversationsNotMixedIn) {
  std::vector<Record> records{
      Ticket("1", "first ticket"),
      Ticket("2", "second ticket"),
      Conversation("10", "1", "2025-03-01T11:00:00Z", "agent", "reply to one"),
      Conversation("11", "2", "2025-03-01T11:00:00Z", "agent", "reply to two"),
      Conversation("12", "3", "2025-03-01T11:00:00Z", "agent", "reply to absent ticket"),
  };
  const std::vector<Document> docs = BuildDocuments(records);
  ASSERT_EQ(docs.size(), 2u);
  EXPECT_EQ(docs[0].id, "acme_freshdesk_1");
  EXPECT_EQ(Texts(docs[0]), (std::vector<std::string>{"first ticket", "reply to one"}));
  EXPECT_EQ(docs[1].id, "acme_freshdesk_2");
  EXPECT_EQ(Texts(docs[1]), (std::vector<std::string>{"second ticket", "reply to two"}));
}

TEST(BuildDocuments, OtherTypesProduceNoDocument) {
  Record contact = Ticket("5", "x");
  contact.type = "contact";
  Record agent = Ticket("6", "y");
  agent.type = "agent";
  EXPECT_TRUE(BuildDocuments({contact, agent}).empty());
}

TEST(BuildDocuments, DuplicateIdsKeepLastValues) {
  std::vector<Record> records{Ticket("1", "old text"), Ticket("2", "other"), Ticket("1", "new text")};
  const std::vector<Document> docs = BuildDocuments(records);
  ASSERT_EQ(docs.size(), 2u);
  EXPECT_EQ(docs[0].id, "acme_freshdesk_1");
  EXPECT_EQ(Texts(docs[0]), (std::vector<std::string>{"new text"}));
}

TEST(BuildDocuments, StillHtmlContentIsConverted) {
  Record ticket = Ticket("1", "<p>Hello <b>there</b></p>");
  ticket.content_is_html = true;
  EXPECT_EQ(Texts(BuildDocuments({ticket}).at(0)), (std::vector<std::string>{"Hello there"}));
}

TEST(BuildDocuments, ContentHashTracksTextOnly) {
  std::vector<Record> records{Ticket("1", "desc"),
                              Conversation("10", "1", "2025-03-01T11:00:00Z", "agent", "reply")};
  const std::string base = BuildDocuments(records).at(0).content_hash;
  EXPECT_EQ(BuildDocuments(records).at(0).content_hash, base);  // deterministic

  // Metadata-only changes leave it alone.
  std::vector<Record> same = records;
  same[0].status = "resolved";
  same[0].metadata["tags"] = {"other"};
  same[1].updated_at = "2025-04-01T00:00:00Z";
  EXPECT_EQ(BuildDocuments(same).at(0).content_hash, base);

  std::vector<Record> changed = records;
  changed[1].content = "reply, edited";
  EXPECT_NE(BuildDocuments(changed).at(0).content_hash, base);

  std::vector<Record> relabelled = records;
  relabelled[1].metadata["role"] = "private note";
  EXPECT_NE(BuildDocuments(relabelled).at(0).content_hash, base);

  std::vector<Record> retitled = records;
  retitled[0].title = "New title";
  EXPECT_NE(BuildDocuments(retitled).at(0).content_hash, base);

  std::vector<Record> deleted = records;
  deleted[0].metadata["state"] = "deleted";
  EXPECT_NE(BuildDocuments(deleted).at(0).content_hash, base);

  std::vector<Record> grown = records;
  grown.push_back(Conversation("11", "1", "2025-03-01T12:00:00Z", "customer", "thanks"));
  EXPECT_NE(BuildDocuments(grown).at(0).content_hash, base);
}

TEST(BuildDocuments, ArticleSplitAtHeadings) {
  Record article = Article("456",
                           "Intro text.\n\n## Setup\n\nDo this.\n\nThen that.\n\n### Step 1\n\nClick.\n\n"
                           "## Troubleshooting\n\nRetry.");
  const std::vector<Document> docs = BuildDocuments({article});
  ASSERT_EQ(docs.size(), 1u);
  const Document& d = docs[0];
  EXPECT_EQ(d.id, "acme_freshdesk_article-456");
  EXPECT_EQ(d.type, "article");
  EXPECT_EQ(d.title, "Exporting reports");
  EXPECT_EQ(Labels(d), (std::vector<std::string>{"", "Setup", "Step 1", "Troubleshooting"}));
  EXPECT_EQ(Texts(d),
            (std::vector<std::string>{"Intro text.", "Do this.\n\nThen that.", "Click.", "Retry."}));
  EXPECT_EQ(d.metadata["status"], "published");
  EXPECT_EQ(d.metadata["folder_visibility"], "all");
  EXPECT_EQ(d.metadata["has_private"], false);
  EXPECT_FALSE(d.metadata.contains("priority"));
}

TEST(SplitAtHeadings, EmptyParentHeadingJoinsChildLabel) {
  const std::vector<Section> s = SplitAtHeadings("## Setup\n### Step 1\nClick.\n## Empty\n## Next\nGo.");
  ASSERT_EQ(s.size(), 2u);
  EXPECT_EQ(s[0].label, "Setup > Step 1");
  EXPECT_EQ(s[0].text, "Click.");
  EXPECT_EQ(s[1].label, "Next");
  EXPECT_EQ(s[1].text, "Go.");
}

TEST(SplitAtHeadings, NoHeadingsIsOneSection) {
  const std::vector<Section> s = SplitAtHeadings("#hashtag is not a heading\n####### nor seven");
  ASSERT_EQ(s.size(), 1u);
  EXPECT_EQ(s[0].label, "");
  EXPECT_EQ(s[0].text, "#hashtag is not a heading\n####### nor seven");
  EXPECT_TRUE(SplitAtHeadings("").empty());
}

TEST(BuildDocuments, HtmlArticleEndToEnd) {
  Record article =
      Article("9", "<h2>Limits</h2><p>50k rows.</p><h2>Steps</h2><ol><li>Open</li><li>Export</li></ol>");
  article.content_is_html = true;
  ASSERT_TRUE(ConvertRecordContent(article).has_value());
  Document d = BuildDocuments({article}).at(0);
  EXPECT_EQ(Labels(d), (std::vector<std::string>{"Limits", "Steps"}));
  EXPECT_EQ(Texts(d), (std::vector<std::string>{"50k rows.", "1. Open\n2. Export"}));
}

}  // namespace
}  // namespace deskpipe::transforms

namespace deskpipe::transforms {
namespace {

Attachment Extracted(const std::string& name, const std::string& type, const std::string& text,
                     const std::string& hash) {
  Attachment a;
  a.id = name;
  a.name = name;
  a.detected_type = type;
  a.extracted_text = text;
  a.content_hash = hash;
  return a;
}

TEST(BuildTicketDocument, AttachmentTextFollowsItsMessageWithProvenance) {
  Record t = Ticket("7", "The invoice is wrong.");
  t.attachments.push_back(Extracted("invoice.pdf", "application/pdf", "Invoice 4417\nTotal 120 EUR", "h1"));
  Record note = Conversation("70", "7", "2025-03-01T11:00:00Z", "", "Checked with billing.");
  note.metadata["private"] = true;
  note.attachments.push_back(Extracted("ledger.xlsx", "application/vnd.ms-excel", "row 1", "h2"));
  Record reply = Conversation("71", "7", "2025-03-01T12:00:00Z", "agent", "Corrected invoice attached.");
  reply.attachments.push_back(
      Extracted("invoice-copy.pdf", "application/pdf", "Invoice 4417\nTotal 120 EUR", "h1"));
  Attachment failed = Extracted("broken.pdf", "application/pdf", "", "h3");
  failed.extract_error = "PDF: truncated";
  reply.attachments.push_back(failed);
  std::vector<Record> records = {t, note, reply};
  Document d = BuildDocuments(records).at(0);
  ASSERT_EQ(d.sections.size(), 5u);
  EXPECT_EQ(d.sections[0].label, "customer");
  EXPECT_EQ(d.sections[1].label, "customer attachment");
  EXPECT_EQ(d.sections[1].text, "Attachment invoice.pdf (application/pdf):\nInvoice 4417\nTotal 120 EUR");
  EXPECT_EQ(d.sections[2].label, "private note");
  EXPECT_EQ(d.sections[3].label, "private note attachment");
  EXPECT_EQ(d.sections[3].text, "Attachment ledger.xlsx (application/vnd.ms-excel):\nrow 1");
  // The copy of invoice.pdf (same hash) and the failed file add nothing.
  EXPECT_EQ(d.sections[4].label, "agent");
  EXPECT_EQ(d.metadata["message_count"], 3);
  EXPECT_EQ(d.metadata["has_private"], true);
}

TEST(BuildTicketDocument, ArticleAttachmentsComeLast) {
  Record a = Article("9", "# Setup\nInstall it.");
  a.attachments.push_back(Extracted("guide.docx", "application/docx", "Step one", "h9"));
  Document d = BuildDocuments({a}).at(0);
  ASSERT_EQ(d.sections.size(), 2u);
  EXPECT_EQ(d.sections[1].label, "attachment");
  EXPECT_EQ(d.sections[1].text, "Attachment guide.docx (application/docx):\nStep one");
}

TEST(BuildTicketDocument, RoleFromUserIdWhenTheRequesterWritesFromThePortal) {
  Record t = Ticket("8", "Login fails");
  t.metadata["requester"] = {{"id", 501}};
  Record portal = Conversation("80", "8", "2025-03-01T11:00:00Z", "", "Still failing today.");
  portal.metadata["incoming"] = false;
  portal.metadata["user_id"] = 501;
  Record agent = Conversation("81", "8", "2025-03-01T12:00:00Z", "", "Reset link sent.");
  agent.metadata["incoming"] = false;
  agent.metadata["user_id"] = 9001;
  Record note = Conversation("82", "8", "2025-03-01T13:00:00Z", "", "VIP account.");
  note.metadata["private"] = true;
  note.metadata["user_id"] = 9001;
  Document d = BuildDocuments({t, portal, agent, note}).at(0);
  EXPECT_EQ(Labels(d), (std::vector<std::string>{"customer", "customer", "agent", "private note"}));
}

TEST(BuildTicketDocument, ChatDescriptionRepeatingTheFirstMessageIsIndexedOnce) {
  Record t = Ticket("9", "Hi, my card was charged twice");
  Record first =
      Conversation("90", "9", "2025-03-01T11:00:00Z", "customer", "Hi,  my card was\ncharged twice");
  Record second = Conversation("91", "9", "2025-03-01T11:01:00Z", "agent", "Let me check that.");
  Document d = BuildDocuments({t, first, second}).at(0);
  EXPECT_EQ(Texts(d), (std::vector<std::string>{"Hi, my card was charged twice", "Let me check that."}));
  EXPECT_EQ(d.metadata["message_count"], 2);
}

TEST(BuildTicketDocument, QuotedHistoryAndSignaturesAreNotIndexed) {
  Record t = Ticket("10", "<div>Export fails</div>");
  t.content_is_html = true;
  Record reply =
      Conversation("100", "10", "2025-03-01T11:00:00Z", "agent",
                   "<div>Hi Priya,<br><br>Use the background export.</div><div><br>Best regards,<br>Alex"
                   "</div><div dir=\"ltr\"><p>Alex Smith<br>Support Engineer, Brightline Support<br>"
                   "alex@brightline.example</p></div><div class=\"freshdesk_quote\"><blockquote "
                   "class=\"freshdesk_quote\">On Mon, Priya wrote:<br>Export fails</blockquote></div>");
  reply.content_is_html = true;
  Record answer =
      Conversation("101", "10", "2025-03-01T12:00:00Z", "customer",
                   "That worked.\n\nOn Mon, Mar 3, 2025 at 9:41 AM Alex <support@brightline.example> "
                   "wrote:\n> Use the background export.");
  std::vector<Record> records = {t, reply, answer};
  for (Record& r : records) ASSERT_TRUE(ConvertRecordContent(r));
  Document d = BuildDocuments(records).at(0);
  EXPECT_EQ(Texts(d), (std::vector<std::string>{"Export fails", "Hi Priya,\n\nUse the background export.",
                                                "That worked."}));
}

}  // namespace
}  // namespace deskpipe::transforms
