#include "dataset.h"

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <vector>

#include "core/hash.h"
#include "core/time.h"
#include "generator.h"

namespace deskpipe::emulator {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

constexpr int64_t kDay = 86400;
constexpr int64_t kDatasetConversationIdBase = 67205000000;
constexpr int64_t kDatasetCategoryId = 67000174000;
constexpr int64_t kDatasetFolderIdBase = 67000256000;
constexpr int64_t kDatasetArticleIdBase = 67000290000;

std::string EscapeHtml(const std::string& text) {
  std::string out;
  out.reserve(text.size() + 16);
  for (char c : text) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\n': out += "<br>"; break;
      default: out += c;
    }
  }
  return out;
}

std::string Paragraphs(const std::string& text) { return "<div>" + EscapeHtml(text) + "</div>"; }

std::string Subject(const std::string& text) {
  std::string line = text.substr(0, text.find('\n'));
  if (line.size() > 90) {
    size_t cut = line.rfind(' ', 90);
    line = line.substr(0, cut == std::string::npos || cut < 40 ? 90 : cut) + "...";
  }
  return line.empty() ? "(no subject)" : line;
}

Result<std::string> ReadFile(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Error(NotFound("cannot read " + path.string()));
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

// RFC 4180 rows (quoted fields may hold commas, quotes and newlines).
std::vector<std::vector<std::string>> ParseCsv(const std::string& text) {
  std::vector<std::vector<std::string>> rows;
  std::vector<std::string> row;
  std::string field;
  bool quoted = false;
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (quoted) {
      if (c == '"' && i + 1 < text.size() && text[i + 1] == '"') {
        field += '"';
        ++i;
      } else if (c == '"') {
        quoted = false;
      } else {
        field += c;
      }
    } else if (c == '"') {
      quoted = true;
    } else if (c == ',') {
      row.push_back(std::move(field));
      field.clear();
    } else if (c == '\n' || c == '\r') {
      if (c == '\r' && i + 1 < text.size() && text[i + 1] == '\n') ++i;
      row.push_back(std::move(field));
      field.clear();
      rows.push_back(std::move(row));
      row.clear();
    } else {
      field += c;
    }
  }
  if (!field.empty() || !row.empty()) {
    row.push_back(std::move(field));
    rows.push_back(std::move(row));
  }
  return rows;
}

struct Message {
  bool from_agent = false;
  std::string text;
  int64_t at = 0;
};

struct Thread {
  std::vector<Message> messages;  // the first is the description
  std::string tag;
  int source = 1;
  // Ground truth for the retrieval evaluation (DatasetOptions::truth_path).
  std::string set;    // "ibm", "bitext"
  std::string key;    // stable across runs: "<set>/<file>#<row or session>"
  std::string label;
  std::string query;  // what a customer would type: the turns before the first agent reply
};

// "Single-Item Query" → "single_item_query", as ontology.json spells flows.
std::string Identifier(const std::string& name) {
  std::string out;
  for (char c : name) out += std::isalnum(static_cast<unsigned char>(c)) ? static_cast<char>(std::tolower(c)) : '_';
  return out;
}

// A sample conversation's subflow may carry a variant suffix ("timing_4"); the ontology names it "timing".
std::string SubflowWithoutVariant(std::string subflow) {
  const size_t underscore = subflow.rfind('_');
  if (underscore != std::string::npos && underscore + 1 < subflow.size() &&
      subflow.find_first_not_of("0123456789", underscore + 1) == std::string::npos) {
    subflow.resize(underscore);
  }
  return subflow;
}

bool HeldOut(const std::string& key, int percent) {
  return percent > 0 && static_cast<int>(Hash64("holdout:" + key) % 100) < percent;
}

}  // namespace

Result<void> LoadDataset(Helpdesk* desk, const std::string& directory, const DatasetOptions& options) {
  const fs::path root(directory);
  if (!fs::is_directory(root)) return Error(NotFound("--dataset: " + directory + " is not a directory"));
  std::vector<Thread> threads;
  bool found_any = false;

  // IBM Twitter customer care dialogs.
  for (const char* name : {"dev.json", "test.json"}) {
    const fs::path path = root / "ibm-twitter-customer-care" / name;
    if (!fs::exists(path)) continue;
    found_any = true;
    ASSIGN_OR_RETURN(std::string text, ReadFile(path));
    json dialogs = json::parse(text, nullptr, false);
    if (dialogs.is_discarded() || !dialogs.is_array()) return Error(InvalidArgument(path.string() + " is not a JSON array"));
    for (const auto& dialog : dialogs) {
      if (!dialog.contains("dialogContent") || !dialog["dialogContent"].is_array()) continue;
      Thread thread;
      thread.source = 7;  // chat-like short messages
      thread.set = "ibm";
      if (dialog.contains("dialogHeader") && dialog["dialogHeader"].contains("company"))
        thread.tag = dialog["dialogHeader"]["company"].get<std::string>();
      if (dialog.contains("dialogHeader") && dialog["dialogHeader"].contains("sessionID"))
        thread.key = std::string("ibm/") + name + "#" + dialog["dialogHeader"].value("sessionID", "");
      if (dialog.contains("agentURL") && dialog["agentURL"].is_object())
        thread.label = dialog["agentURL"].value("doc_id", "");
      bool agent_replied = false;
      for (const auto& turn : dialog["dialogContent"]) {
        Message m;
        m.from_agent = turn.contains("agent");
        m.text = turn.value("message", "");
        agent_replied = agent_replied || m.from_agent;
        if (!agent_replied && !m.text.empty()) thread.query += (thread.query.empty() ? "" : "\n") + m.text;
        Result<int64_t> at = ParseTimestamp(turn.value("datetime", ""));
        m.at = at ? *at : 0;
        if (!m.text.empty()) thread.messages.push_back(std::move(m));
      }
      if (!thread.messages.empty()) threads.push_back(std::move(thread));
    }
  }

  // Bitext: single-turn request/response pairs.
  const fs::path bitext = root / "bitext";
  if (fs::is_directory(bitext)) {
    std::vector<fs::path> files;
    for (const auto& entry : fs::directory_iterator(bitext)) {
      if (entry.path().extension() == ".csv") files.push_back(entry.path());
    }
    std::sort(files.begin(), files.end());
    for (const fs::path& path : files) {
      found_any = true;
      ASSIGN_OR_RETURN(std::string text, ReadFile(path));
      const auto rows = ParseCsv(text);
      if (rows.empty()) continue;
      const auto& header = rows[0];
      auto column = [&](const char* name) -> int {
        auto it = std::find(header.begin(), header.end(), name);
        return it == header.end() ? -1 : static_cast<int>(it - header.begin());
      };
      const int instruction = column("instruction"), response = column("response"), intent = column("intent");
      if (instruction < 0 || response < 0)
        return Error(InvalidArgument(path.string() + ": expected 'instruction' and 'response' columns"));
      for (size_t r = 1; r < rows.size(); ++r) {
        const auto& row = rows[r];
        if (row.size() <= static_cast<size_t>(std::max(instruction, response))) continue;
        Thread thread;
        if (intent >= 0 && static_cast<size_t>(intent) < row.size()) thread.tag = row[static_cast<size_t>(intent)];
        thread.set = "bitext";
        thread.key = "bitext/" + path.filename().string() + "#" + std::to_string(r);
        thread.label = thread.tag;
        thread.query = row[static_cast<size_t>(instruction)];
        thread.messages.push_back({false, row[static_cast<size_t>(instruction)], 0});
        thread.messages.push_back({true, row[static_cast<size_t>(response)], 0});
        threads.push_back(std::move(thread));
      }
    }
  }

  // ABCD guidelines → knowledge base.
  const fs::path guidelines = root / "abcd" / "guidelines.json";
  std::vector<Article> articles;
  std::vector<std::string> article_labels;  // parallel to `articles`
  std::vector<Folder> folders;
  if (fs::exists(guidelines)) {
    found_any = true;
    ASSIGN_OR_RETURN(std::string text, ReadFile(guidelines));
    json flows = json::parse(text, nullptr, false);
    if (flows.is_discarded() || !flows.is_object())
      return Error(InvalidArgument(guidelines.string() + " is not a JSON object"));
    // ontology.json lists each flow's subflow ids in the order guidelines.json lists their names.
    json ontology;
    if (fs::exists(root / "abcd" / "ontology.json")) {
      ASSIGN_OR_RETURN(std::string ontology_text, ReadFile(root / "abcd" / "ontology.json"));
      ontology = json::parse(ontology_text, nullptr, false);
    }
    const int64_t created = desk->now - 400 * kDay;
    for (const auto& [flow_name, flow] : flows.items()) {
      const std::string flow_id = Identifier(flow_name);
      const json* subflow_ids = nullptr;
      if (ontology.is_object() && ontology.contains("intents") && ontology["intents"].contains("subflows") &&
          ontology["intents"]["subflows"].contains(flow_id))
        subflow_ids = &ontology["intents"]["subflows"][flow_id];
      size_t subflow_index = 0;
      Folder folder;
      folder.id = kDatasetFolderIdBase + static_cast<int64_t>(folders.size());
      folder.category_id = kDatasetCategoryId;
      folder.name = flow_name;
      folder.description = flow.value("description", "");
      folder.created_at = created;
      folder.updated_at = created + kDay;
      if (flow.contains("subflows") && flow["subflows"].is_object()) {
        for (const auto& [subflow_name, subflow] : flow["subflows"].items()) {
          Article a;
          a.id = kDatasetArticleIdBase + static_cast<int64_t>(articles.size());
          a.folder_id = folder.id;
          a.category_id = kDatasetCategoryId;
          a.agent_id = desk->agents.empty() ? 0 : desk->agents[articles.size() % desk->agents.size()].id;
          a.title = subflow_name;
          if (subflow_ids != nullptr && subflow_ids->is_array() && subflow_index < subflow_ids->size())
            article_labels.push_back(flow_id + "/" + (*subflow_ids)[subflow_index].get<std::string>());
          else
            article_labels.push_back(flow_id + "/" + Identifier(subflow_name));
          ++subflow_index;
          std::string html = "<p>" + EscapeHtml(flow_name + ": " + subflow_name) + "</p><ol>";
          if (subflow.contains("actions") && subflow["actions"].is_array()) {
            for (const auto& action : subflow["actions"]) {
              html += "<li>" + EscapeHtml(action.value("text", ""));
              if (action.contains("subtext") && action["subtext"].is_array() && !action["subtext"].empty()) {
                html += "<ul>";
                for (const auto& sub : action["subtext"])
                  if (sub.is_string()) html += "<li>" + EscapeHtml(sub.get<std::string>()) + "</li>";
                html += "</ul>";
              }
              html += "</li>";
            }
          }
          html += "</ol>";
          a.description_html = std::move(html);
          a.description_text = GeneratedHtmlToText(a.description_html, false);
          a.created_at = created + static_cast<int64_t>(articles.size()) * 3600;
          a.updated_at = a.created_at + 30 * kDay;
          folder.articles.push_back(articles.size());
          articles.push_back(std::move(a));
        }
      }
      folders.push_back(std::move(folder));
    }
  }
  if (!found_any) {
    return Error(NotFound("--dataset: " + directory +
                          " holds none of ibm-twitter-customer-care/*.json, bitext/*.csv, abcd/guidelines.json"));
  }
  const int max_tickets = options.max_tickets;
  if (max_tickets > 0 && threads.size() > static_cast<size_t>(max_tickets)) threads.resize(static_cast<size_t>(max_tickets));

  const bool write_truth = !options.truth_path.empty();
  json truth_lines = json::array();
  if (options.holdout_percent > 0) {
    std::vector<Thread> kept;
    for (Thread& thread : threads) {
      if (!thread.key.empty() && !thread.query.empty() && HeldOut(thread.key, options.holdout_percent)) {
        truth_lines.push_back({{"query", thread.key}, {"set", thread.set}, {"label", thread.label},
                               {"text", thread.query}, {"relevant_type", "ticket"}});
      } else {
        kept.push_back(std::move(thread));
      }
    }
    threads = std::move(kept);
  }
  // ABCD sample conversations: never tickets, so every one is a query for the articles.
  const fs::path abcd_sample = root / "abcd" / "abcd_sample.json";
  if (write_truth && fs::exists(abcd_sample)) {
    ASSIGN_OR_RETURN(std::string text, ReadFile(abcd_sample));
    json conversations = json::parse(text, nullptr, false);
    if (!conversations.is_array()) return Error(InvalidArgument(abcd_sample.string() + " is not a JSON array"));
    for (const auto& conversation : conversations) {
      if (!conversation.contains("scenario") || !conversation.contains("original")) continue;
      std::string opening;
      int customer_turns = 0;
      for (const auto& turn : conversation["original"]) {
        if (!turn.is_array() || turn.size() < 2 || turn[0] != "customer") continue;
        opening += (opening.empty() ? "" : "\n") + turn[1].get<std::string>();
        if (++customer_turns == 2) break;
      }
      const json& scenario = conversation["scenario"];
      truth_lines.push_back(
          {{"query", "abcd/abcd_sample.json#" + std::to_string(conversation.value("convo_id", 0))},
           {"set", "abcd"},
           {"label", scenario.value("flow", "") + "/" + SubflowWithoutVariant(scenario.value("subflow", ""))},
           {"text", opening},
           {"relevant_type", "article"}});
    }
  }

  // Tickets: spread over the two years before now (the order of the sets), each thread keeping its own spacing
  // (capped at 3 days a gap); undated messages are a few minutes apart.
  desk->tickets.clear();
  desk->conversations.clear();
  const size_t n = threads.size();
  for (size_t i = 0; i < n; ++i) {
    Thread& thread = threads[i];
    const int64_t created = desk->now - 730 * kDay + static_cast<int64_t>((730 * kDay - 4 * kDay) * i / std::max<size_t>(n, 1));
    Ticket t;
    t.id = static_cast<int64_t>(i) + 1;
    const Contact& requester = desk->contacts[i % desk->contacts.size()];
    const Agent& agent = desk->agents[i % desk->agents.size()];
    t.requester_id = requester.id;
    t.company_id = requester.company_id;
    t.responder_id = agent.id;
    if (!agent.group_ids.empty()) t.group_id = agent.group_ids.front();
    t.subject = Subject(thread.messages[0].text);
    t.description_html = Paragraphs(thread.messages[0].text);
    t.description_text = GeneratedHtmlToText(t.description_html, true);
    t.source = thread.source;
    t.type = "Question";
    t.priority = 1 + static_cast<int>(i % 4);
    if (!thread.tag.empty()) t.tags.push_back(thread.tag);
    t.custom_fields = {{"cf_plan_tier", nullptr}, {"cf_region", nullptr}, {"cf_reproducible", nullptr},
                       {"cf_order_reference", nullptr}};
    t.created_at = created;
    t.first_conversation = desk->conversations.size();
    int64_t at = created;
    for (size_t m = 1; m < thread.messages.size(); ++m) {
      const Message& message = thread.messages[m];
      const int64_t gap = message.at && thread.messages[m - 1].at
                              ? std::clamp<int64_t>(message.at - thread.messages[m - 1].at, 1, 3 * kDay)
                              : 300;
      at += gap;
      Conversation c;
      c.id = kDatasetConversationIdBase + static_cast<int64_t>(desk->conversations.size());
      c.ticket_id = t.id;
      c.kind = message.from_agent ? ConversationKind::kAgentReply : ConversationKind::kCustomerReply;
      c.user_id = message.from_agent ? agent.id : requester.id;
      c.body_html = Paragraphs(message.text);
      c.body_text = GeneratedHtmlToText(c.body_html, false);
      c.created_at = c.updated_at = at;
      if (message.from_agent) {
        if (!t.stats.first_responded_at) t.stats.first_responded_at = at;
        t.stats.agent_responded_at = at;
      } else {
        t.stats.requester_responded_at = at;
      }
      desk->conversations.push_back(std::move(c));
    }
    t.conversation_count = desk->conversations.size() - t.first_conversation;
    t.updated_at = std::min(desk->now, at + 60);
    const bool answered = t.stats.agent_responded_at.has_value();
    t.status = answered ? (t.created_at < desk->now - 30 * kDay ? 5 : 4) : 2;
    t.stats.status_updated_at = t.updated_at;
    if (t.status >= 4) t.stats.resolved_at = t.updated_at;
    if (t.status == 5) t.stats.closed_at = t.updated_at;
    t.due_by = created + 3 * kDay;
    t.fr_due_by = created + kDay;
    if (write_truth && !thread.set.empty())
      truth_lines.push_back({{"ticket", t.id}, {"set", thread.set}, {"label", thread.label}});
    desk->tickets.push_back(std::move(t));
  }
  for (size_t i = 0; write_truth && i < article_labels.size(); ++i) {
    truth_lines.push_back({{"article", articles[i].id}, {"set", "abcd"}, {"label", article_labels[i]}});
  }
  if (write_truth) {
    std::ofstream out(options.truth_path, std::ios::binary | std::ios::trunc);
    for (const json& line : truth_lines) out << line.dump() << '\n';
    out.flush();
    if (!out) return Error(Internal("cannot write " + options.truth_path));
  }

  if (!folders.empty()) {
    Category category;
    category.id = kDatasetCategoryId;
    category.name = "Customer care guidelines";
    category.description = "Agent guidelines for the customer care flows (ABCD).";
    category.created_at = desk->now - 400 * kDay;
    category.updated_at = category.created_at + kDay;
    desk->categories = {category};
    desk->folders = std::move(folders);
    desk->articles = std::move(articles);
  }
  desk->BuildIndexes();
  return {};
}

}  // namespace deskpipe::emulator
