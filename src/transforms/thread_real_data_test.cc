// Thread assembly on real conversation shapes: customer-care threads from ../shared/data (IBM Twitter
// customer care, ABCD chats), read at test time and dressed as Freshdesk records the way Freshdesk delivers
// them (HTML bodies, agent replies quoting the previous message in freshdesk_quote blockquotes, customer
// replies quoting in Gmail's plain-text style, chat tickets whose description repeats the first message).
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <regex>
#include <string>
#include <vector>

#include "transforms/html_to_text.h"
#include "transforms/message_cleaning.h"
#include "transforms/thread.h"

namespace deskpipe::transforms {
namespace {

std::filesystem::path DataDir() {
  if (const char* dir = std::getenv("DESKPIPE_SHARED_DATA"); dir != nullptr && *dir != '\0') return dir;
  return DESKPIPE_SHARED_DATA_DIR;
}

bool LoadJson(const std::filesystem::path& path, nlohmann::json& out) {
  std::ifstream in(path);
  if (!in) return false;
  out = nlohmann::json::parse(in);
  return true;
}

std::string Escape(const std::string& text) {
  std::string out;
  for (char c : text) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '\n':
        out += "<br>";
        break;
      default:
        out.push_back(c);
    }
  }
  return out;
}

struct Turn {
  bool agent;
  std::string user;
  std::string text;
};

Record TicketRecord(int n, const std::string& requester) {
  Record r;
  r.id = "real_freshdesk_" + std::to_string(n);
  r.type = "ticket";
  r.title = "Thread " + std::to_string(n);
  r.content_is_html = true;
  r.metadata = {{"requester", {{"id", requester}}}};
  return r;
}

Record ConversationRecord(int ticket, int n, const std::string& user, bool incoming, std::string html) {
  Record r;
  r.id = "real_freshdesk_conversation-" + std::to_string(ticket * 1000 + n);
  r.type = "conversation";
  r.parent_id = "real_freshdesk_" + std::to_string(ticket);
  char stamp[32];
  std::snprintf(stamp, sizeof stamp, "2025-03-01T10:%02d:%02dZ", n / 60, n % 60);
  r.created_at = stamp;
  r.updated_at = stamp;
  r.content = std::move(html);
  r.content_is_html = true;
  // No "role": thread assembly must derive it from incoming / private / user_id like the raw API fields.
  r.metadata = {{"incoming", incoming}, {"private", false}, {"user_id", user}};
  return r;
}

// Whitespace collapsed (U+00A0 counts as a space, as HtmlToText treats it).
std::string Normalized(std::string_view text) {
  std::string with_spaces;
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '\xC2' && i + 1 < text.size() && text[i + 1] == '\xA0') {
      with_spaces.push_back(' ');
      ++i;
    } else {
      with_spaces.push_back(text[i]);
    }
  }
  text = with_spaces;
  std::string out;
  bool space = false;
  for (char c : text) {
    if (c == ' ' || c == '\n' || c == '\t' || c == '\r') {
      space = !out.empty();
      continue;
    }
    if (space) out.push_back(' ');
    space = false;
    out.push_back(c);
  }
  return out;
}

TEST(ThreadOnRealData, TwitterCareThreadsRolesQuotesAndSignatures) {
  nlohmann::json dialogs;
  const auto path = DataDir() / "ibm-twitter-customer-care" / "dev.json";
  if (!LoadJson(path, dialogs)) GTEST_SKIP() << "no real data at " << path << " (set DESKPIPE_SHARED_DATA)";
  ASSERT_TRUE(dialogs.is_array());

  // How care agents sign: " *SR", " ^Kartika", ".^NKush", " -Shie 3/3", " ~ Olivia".
  const std::regex initials(R"((\s[\^*~_-] ?|[.!]\^)[A-Z][A-Za-z]{0,11}(\s+\d+/\d+)?\s*$)");
  int threads = 0, agent_messages = 0, signed_agent_messages = 0, customer_messages = 0,
      customer_unchanged = 0;
  for (const auto& dialog : dialogs) {
    std::vector<Turn> turns;
    for (const auto& t : dialog["dialogContent"]) {
      if (!t.value("message", nlohmann::json()).is_string()) continue;
      const bool agent = t.contains("agent");
      // "client1", "client2": other customers joining the thread (cc'd on a ticket).
      std::string user;
      for (const char* key : {"agent", "client", "client1", "client2", "client3"}) {
        if (t.contains(key) && t[key].is_string()) {
          user = t[key].get<std::string>();
          break;
        }
      }
      turns.push_back({agent, user, t["message"].get<std::string>()});
    }
    if (dialog.contains("agentURL") &&
        dialog["agentURL"].value("url_utterance", nlohmann::json()).is_string()) {
      turns.push_back({true, dialog["dialogHeader"]["company"].get<std::string>(),
                       dialog["agentURL"]["url_utterance"].get<std::string>()});
    }
    if (turns.size() < 2 || turns[0].agent) continue;
    ++threads;
    const int ticket_no = threads;
    std::vector<Record> records;
    records.push_back(TicketRecord(ticket_no, turns[0].user));
    records[0].content = "<div>" + Escape(turns[0].text) + "</div>";
    for (size_t i = 1; i < turns.size(); ++i) {
      const Turn& turn = turns[i];
      const Turn& previous = turns[i - 1];
      std::string html = "<div>" + Escape(turn.text) + "</div>";
      if (turn.agent) {
        // Freshdesk's agent reply: the previous message quoted in a freshdesk_quote blockquote.
        html += "<div class=\"freshdesk_quote\"><blockquote class=\"freshdesk_quote\">On Mon, 3 Mar 2025, " +
                Escape(previous.user) + " wrote:<br>" + Escape(previous.text) + "</blockquote></div>";
      } else if (i % 2 == 0) {
        // A customer's mail client quoting in plain text.
        std::string quoted;
        size_t pos = 0;
        while (pos <= previous.text.size()) {  // every line prefixed, as mail clients do
          size_t eol = previous.text.find('\n', pos);
          if (eol == std::string::npos) eol = previous.text.size();
          quoted += "&gt; " + Escape(previous.text.substr(pos, eol - pos)) + "<br>";
          pos = eol + 1;
        }
        html += "<div><br>On Mon, Mar 3, 2025 at 9:41 AM " + Escape(previous.user) + " &lt;support@" +
                Escape(previous.user) + ".example&gt; wrote:<br>" + quoted + "</div>";
      }
      // Customers reply from the portal (incoming false) half the time: the requester id still makes them
      // the customer.
      const bool incoming = !turn.agent && (i % 3 != 0 || turn.user != turns[0].user);
      records.push_back(ConversationRecord(ticket_no, static_cast<int>(i), turn.user, incoming, html));
    }
    for (Record& record : records) ASSERT_TRUE(ConvertRecordContent(record));
    std::vector<Document> documents = BuildDocuments(records);
    ASSERT_EQ(documents.size(), 1u);
    const Document& d = documents[0];

    // One section per message that has text left after cleaning, each with the speaker's role.
    size_t s = 0;
    for (size_t i = 0; i < turns.size(); ++i) {
      const std::string expected_text = Normalized(CleanMessageText(turns[i].text));
      if (expected_text.empty()) continue;
      ASSERT_LT(s, d.sections.size()) << "thread " << ticket_no;
      const Section& section = d.sections[s++];
      EXPECT_EQ(section.label, turns[i].agent ? "agent" : "customer")
          << "thread " << ticket_no << " message " << i;
      // The quoted previous message is gone: what is indexed is exactly the message's own cleaned text.
      EXPECT_EQ(Normalized(section.text), expected_text) << "thread " << ticket_no << " message " << i;
      if (turns[i].agent) {
        ++agent_messages;
        if (std::regex_search(turns[i].text, initials)) {
          ++signed_agent_messages;
          EXPECT_FALSE(std::regex_search(section.text, initials)) << section.text;
        }
      } else {
        ++customer_messages;
        if (Normalized(section.text) == Normalized(turns[i].text)) ++customer_unchanged;
      }
      EXPECT_EQ(section.text.find(" wrote:"), std::string::npos) << section.text;
    }
    EXPECT_EQ(s, d.sections.size()) << "thread " << ticket_no;
  }
  EXPECT_GT(threads, 400);
  EXPECT_GT(signed_agent_messages, 20);  // the data really has signed agent tweets
  // Customers' own words survive cleaning nearly always (a trailing sign-off may go).
  EXPECT_GT(customer_unchanged * 100, customer_messages * 97)
      << customer_unchanged << "/" << customer_messages;
  std::printf("twitter threads %d: %d agent messages (%d signed), %d customer messages (%d unchanged)\n",
              threads, agent_messages, signed_agent_messages, customer_messages, customer_unchanged);
}

TEST(ThreadOnRealData, AbcdChatsAreNotIndexedTwice) {
  nlohmann::json chats;
  const auto path = DataDir() / "abcd" / "abcd_sample.json";
  if (!LoadJson(path, chats)) GTEST_SKIP() << "no real data at " << path << " (set DESKPIPE_SHARED_DATA)";
  int tested = 0;
  for (const auto& chat : chats) {
    std::vector<Turn> turns;
    for (const auto& utterance : chat["original"]) {
      const std::string speaker = utterance[0].get<std::string>();
      if (speaker == "action") continue;  // system events, not messages
      turns.push_back({speaker == "agent", speaker == "agent" ? "agent-7" : "customer-1",
                       utterance[1].get<std::string>()});
    }
    // A Freshdesk chat ticket: the description repeats the customer's first message, then every message is a
    // conversation, the first customer message included.
    size_t first_customer = 0;
    while (first_customer < turns.size() && turns[first_customer].agent) ++first_customer;
    ASSERT_LT(first_customer, turns.size());
    const int ticket_no = 100 + tested;
    std::vector<Record> records;
    records.push_back(TicketRecord(ticket_no, "customer-1"));
    records[0].content = "<p>" + Escape(turns[first_customer].text) + "</p>";
    for (size_t i = first_customer; i < turns.size(); ++i) {
      records.push_back(ConversationRecord(ticket_no, static_cast<int>(i), turns[i].user, !turns[i].agent,
                                           "<p>" + Escape(turns[i].text) + "</p>"));
    }
    for (Record& record : records) ASSERT_TRUE(ConvertRecordContent(record));
    const Document d = BuildDocuments(records).at(0);
    size_t expected = 0;
    for (size_t i = first_customer; i < turns.size(); ++i)
      expected += !CleanMessageText(turns[i].text).empty();
    EXPECT_EQ(d.sections.size(), expected) << "chat " << chat["convo_id"];
    EXPECT_EQ(d.metadata["message_count"], expected);
    ASSERT_FALSE(d.sections.empty());
    EXPECT_EQ(d.sections[0].label, "customer");
    EXPECT_EQ(d.sections[0].text, turns[first_customer].text);
    if (d.sections.size() > 1) {
      EXPECT_NE(d.sections[1].text, d.sections[0].text);
    }
    ++tested;
  }
  EXPECT_GE(tested, 3);
}

}  // namespace
}  // namespace deskpipe::transforms
