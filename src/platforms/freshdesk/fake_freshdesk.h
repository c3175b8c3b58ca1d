// Test helper: an in-memory Freshdesk behind the HttpClient interface, for the source's unit tests. It keeps
// tickets (with trash / spam / archive flags), conversations, attachments with expiring signed URLs, reference
// data and a KB, and answers the API.md paths the source uses with Freshdesk's rules: updated_since
// inclusive, order_by updated_at / created_at with ties broken by id, the 300-page cap and its exact 400,
// link headers, 404 for archived tickets on the live path. It counts every request by kind, so tests can
// assert "only list calls". Also MemoryKnownRecords: a KnownRecords fed from committed batches, standing in
// for the store. Not thread-safe. No network, no sleeps.
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/time.h"
#include "net/http_client.h"
#include "platforms/platform.h"

namespace deskpipe::freshdesk::testing {

class FakeFreshdesk : public net::HttpClient {
 public:
  using json = nlohmann::json;
  static constexpr const char* kRoot = "http://127.0.0.1:9999";
  static constexpr const char* kFiles = "http://files.test/att/";

  struct Ticket {
    int64_t id = 0;
    int64_t created = 0;
    int64_t updated = 0;
    int status = 2;
    int source = 1;
    bool deleted = false;
    bool spam = false;
    bool archived = false;
    int64_t group_id = 0;
    int64_t company_id = 0;
    std::string subject;
    std::vector<int64_t> attachment_ids;
    std::vector<json> conversations;
  };

  int page_cap = 300;
  std::map<int64_t, Ticket> tickets;
  std::map<int64_t, std::string> files;  // attachment id → bytes
  std::map<int64_t, int> signature;      // attachment id → current signature generation
  json agents = json::array();
  json groups = json::array();
  json ticket_fields = json::array();
  json companies = json::array();
  json contacts = json::array();
  json settings = {{"primary_language", "en"}, {"supported_languages", json::array()}};
  // KB: categories; folders (with category_id / parent_folder_id); articles per language.
  json categories = json::array();
  std::vector<json> folders;
  std::map<std::string, std::vector<json>> articles;  // language → articles (with folder_id)

  // Requests by kind: "list" (any list endpoint page), "view", "conversations", "download", "other".
  std::map<std::string, int64_t> counts;
  std::vector<std::string> log;  // every URL, when keep_log

  bool keep_log = false;

  Ticket& AddTicket(int64_t id, int64_t created, int64_t updated) {
    Ticket& t = tickets[id];
    t.id = id;
    t.created = created;
    t.updated = updated;
    t.subject = "ticket " + std::to_string(id);
    return t;
  }
  void AddAttachment(Ticket& ticket, int64_t attachment_id, std::string bytes) {
    ticket.attachment_ids.push_back(attachment_id);
    files[attachment_id] = std::move(bytes);
    signature[attachment_id] = 1;
  }
  // Every URL issued so far for this attachment stops working (S3 answers 403).
  void ExpireUrls(int64_t attachment_id) { ++signature[attachment_id]; }

  int64_t NonListRequests() const {
    int64_t n = 0;
    for (const auto& [kind, count] : counts) n += kind == "list" ? 0 : count;
    return n;
  }

  Result<net::HttpResponse> Send(const net::HttpRequest& request) override {
    if (keep_log) log.push_back(request.url);
    if (request.url.rfind(kFiles, 0) == 0) return Download(request);
    const std::string base = std::string(kRoot) + "/api/v2/";
    if (request.url.rfind(base, 0) != 0) {
      ADD_FAILURE() << "request outside the fake: " << request.url;
      return Error(Internal("unexpected " + request.url));
    }
    EXPECT_FALSE(request.basic_auth.empty()) << request.url;
    std::string rest = request.url.substr(base.size());
    std::string path = rest.substr(0, rest.find('?'));
    std::map<std::string, std::string> query;
    if (auto q = rest.find('?'); q != std::string::npos) {
      std::string qs = rest.substr(q + 1);
      size_t start = 0;
      while (start <= qs.size()) {
        size_t end = qs.find('&', start);
        if (end == std::string::npos) end = qs.size();
        std::string pair = qs.substr(start, end - start);
        auto eq = pair.find('=');
        if (!pair.empty()) query[pair.substr(0, eq)] = eq == std::string::npos ? "" : pair.substr(eq + 1);
        start = end + 1;
      }
    }
    std::vector<std::string> parts;
    for (size_t s = 0; s <= path.size();) {
      size_t e = path.find('/', s);
      if (e == std::string::npos) e = path.size();
      parts.push_back(path.substr(s, e - s));
      s = e + 1;
    }
    return Route(request.url, parts, query);
  }

 private:
  static net::HttpResponse Reply(long status, const json& body) {
    net::HttpResponse r;
    r.status = status;
    r.body = body.dump();
    r.headers["content-type"] = "application/json";
    return r;
  }
  static net::HttpResponse NotFound() { return Reply(404, {{"code", "not_found"}, {"message", "nope"}}); }

  std::map<std::string, std::pair<uint64_t, std::vector<const Ticket*>>> sorted_;

  json TicketJson(const Ticket& t, bool view) const {
    json j = {{"id", t.id},
              {"subject", t.subject},
              {"description", "<p>about " + t.subject + "</p>"},
              {"description_text", "about " + t.subject},
              {"status", t.status},
              {"priority", 2},
              {"source", t.source},
              {"type", "Question"},
              {"requester_id", 900},
              {"responder_id", 1},
              {"group_id", t.group_id ? json(t.group_id) : json()},
              {"company_id", t.company_id ? json(t.company_id) : json()},
              {"spam", t.spam},
              {"tags", json::array({"fake"})},
              {"custom_fields", {{"cf_plan_tier", "Pro"}}},
              {"created_at", FormatTimestamp(t.created)},
              {"updated_at", FormatTimestamp(t.updated)}};
    if (t.deleted) j["deleted"] = true;
    if (t.archived) j["archived"] = true;
    if (view) {
      json attachments = json::array();
      for (int64_t a : t.attachment_ids) attachments.push_back(AttachmentJson(a));
      j["attachments"] = attachments;
      if (t.company_id) j["company"] = {{"id", t.company_id}, {"name", "Company " + std::to_string(t.company_id)}};
    } else {
      j["requester"] = {{"id", 900}, {"name", "Rita Requester"}, {"email", "rita@example.com"}};
    }
    return j;
  }

  json AttachmentJson(int64_t a) const {
    return {{"id", a},
            {"name", "file-" + std::to_string(a) + ".txt"},
            {"content_type", "text/plain"},
            {"size", static_cast<int64_t>(files.at(a).size())},
            {"attachment_url", std::string(kFiles) + std::to_string(a) + "?sig=" +
                                   std::to_string(signature.at(a))},
            {"created_at", "2020-01-01T00:00:00Z"},
            {"updated_at", "2020-01-01T00:00:00Z"}};
  }

  Result<net::HttpResponse> Download(const net::HttpRequest& request) {
    ++counts["download"];
    EXPECT_TRUE(request.basic_auth.empty()) << "the API key must not go to the file host";
    std::string rest = request.url.substr(std::string(kFiles).size());
    int64_t id = std::stoll(rest.substr(0, rest.find('?')));
    int sig = std::stoi(rest.substr(rest.find("sig=") + 4));
    if (!files.count(id)) return NotFound();
    if (sig != signature[id]) return Reply(403, {{"Code", "AccessDenied"}, {"Message", "Request has expired"}});
    net::HttpResponse r;
    r.status = 200;
    r.body = files[id];
    return r;
  }

  // One page of `items` (already filtered and ordered).
  net::HttpResponse Paged(const std::string& url, const std::vector<json>& items,
                          const std::map<std::string, std::string>& query, bool capped) {
    return PagedSlice(url, items.size(), [&](size_t i) { return items[i]; }, query, capped);
  }

  // One page of `total` items, rendering only the page's (item(i) for i in the page).
  template <typename Render>
  net::HttpResponse PagedSlice(const std::string& url, size_t total, Render item,
                               const std::map<std::string, std::string>& query, bool capped) {
    ++counts["list"];
    int per_page = query.count("per_page") ? std::stoi(query.at("per_page")) : 30;
    int page = query.count("page") ? std::stoi(query.at("page")) : 1;
    if (per_page < 1 || per_page > 100 || page < 1) {
      return Reply(400, {{"description", "Validation failed"}, {"errors", json::array()}});
    }
    if (capped && page > page_cap) {
      return Reply(400, json::parse(R"({"description":"Validation failed","errors":[{"field":"page","message":"You cannot access tickets beyond the 300th page. Please provide a smaller page number.","code":"invalid_value"}]})"));
    }
    json body = json::array();
    size_t begin = static_cast<size_t>(page - 1) * per_page;
    for (size_t i = begin; i < total && i < begin + per_page; ++i) body.push_back(item(i));
    net::HttpResponse r = Reply(200, body);
    if (begin + per_page < total) {
      std::string next = url;
      if (query.count("page")) {
        auto p = next.find("&page=");
        if (p == std::string::npos) p = next.find("?page=");
        auto e = next.find('&', p + 1);
        next = next.substr(0, p + 6) + std::to_string(page + 1) + (e == std::string::npos ? "" : next.substr(e));
      } else {
        next += std::string(next.find('?') == std::string::npos ? "?" : "&") + "page=" + std::to_string(page + 1);
      }
      r.headers["link"] = "<" + next + ">; rel=\"next\"";
    }
    return r;
  }

  net::HttpResponse ListTickets(const std::string& url, const std::map<std::string, std::string>& query) {
    const std::string filter = query.count("filter") ? query.at("filter") : "";
    int64_t since = 0;
    if (query.count("updated_since")) since = *ParseTimestamp(query.at("updated_since"));
    const bool by_created = query.count("order_by") && query.at("order_by") == "created_at";
    const bool desc = !query.count("order_type") || query.at("order_type") == "desc";
    // The sorted order is cached per (filter, order) and rebuilt when any ticket changed (fingerprint).
    uint64_t fingerprint = tickets.size();
    for (const auto& [id, t] : tickets) {
      fingerprint = fingerprint * 1000003u + static_cast<uint64_t>(t.updated * 31 + t.created * 7 + id) +
                    (t.deleted ? 1u : 0u) + (t.spam ? 2u : 0u) + (t.archived ? 4u : 0u);
    }
    auto& cache = sorted_[filter + (by_created ? "/created" : "/updated") + (desc ? "/desc" : "/asc")];
    if (cache.first != fingerprint || cache.second.empty()) {
      cache.first = fingerprint;
      cache.second.clear();
      for (const auto& [id, t] : tickets) {
        bool in = filter == "deleted" ? t.deleted : filter == "spam" ? (t.spam && !t.deleted) : (!t.deleted && !t.spam);
        if (in && !t.archived) cache.second.push_back(&t);
      }
      std::sort(cache.second.begin(), cache.second.end(), [&](const Ticket* a, const Ticket* b) {
        auto ka = std::make_pair(by_created ? a->created : a->updated, a->id);
        auto kb = std::make_pair(by_created ? b->created : b->updated, b->id);
        return desc ? kb < ka : ka < kb;
      });
    }
    std::vector<const Ticket*> matches;
    for (const Ticket* t : cache.second) {
      if (t->updated >= since) matches.push_back(t);
    }
    return PagedSlice(url, matches.size(), [&](size_t i) { return TicketJson(*matches[i], false); }, query, true);
  }

  net::HttpResponse Route(const std::string& url, const std::vector<std::string>& s,
                          const std::map<std::string, std::string>& query) {
    const size_t n = s.size();
    if (s[0] == "tickets") {
      if (n == 1) return ListTickets(url, query);
      const bool archived_path = s[1] == "archived";
      const size_t at = archived_path ? 2 : 1;
      if (n <= at) return NotFound();
      auto it = tickets.find(std::stoll(s[at]));
      if (it == tickets.end() || it->second.archived != archived_path) {
        ++counts[n == at + 1 ? "view" : "conversations"];
        return NotFound();
      }
      if (n == at + 1) {
        ++counts["view"];
        return Reply(200, TicketJson(it->second, true));
      }
      if (n == at + 2 && s[at + 1] == "conversations") {
        ++counts["conversations"];
        std::vector<json> items;
        for (const json& c : it->second.conversations) {
          json copy = c;
          json attachments = json::array();
          for (const auto& a : c.value("attachment_ids", json::array())) attachments.push_back(AttachmentJson(a.get<int64_t>()));
          copy.erase("attachment_ids");
          copy["attachments"] = attachments;
          items.push_back(copy);
        }
        --counts["list"];  // Paged counts a list; this is a conversations call
        return Paged(url, items, query, false);
      }
      return NotFound();
    }
    if (s[0] == "agents" && n == 1) return Paged(url, agents.get<std::vector<json>>(), query, false);
    if (s[0] == "groups" && n == 1) return Paged(url, groups.get<std::vector<json>>(), query, false);
    if (s[0] == "ticket_fields" && n == 1) return (++counts["list"], Reply(200, ticket_fields));
    if ((s[0] == "contact_fields" || s[0] == "company_fields") && n == 1) return (++counts["list"], Reply(200, json::array()));
    if (s[0] == "settings") return (++counts["other"], Reply(200, settings));
    if (s[0] == "companies" || s[0] == "contacts") {
      const json& all = s[0] == "companies" ? companies : contacts;
      std::string since_key = s[0] == "companies" ? "updated_since" : "_updated_since";
      int64_t since = query.count(since_key) ? *ParseTimestamp(query.at(since_key)) : 0;
      const bool deleted = query.count("state") && query.at("state") == "deleted";
      std::vector<json> items;
      for (const auto& item : all) {
        if (*ParseTimestamp(item["updated_at"].get<std::string>()) < since) continue;
        if (item.value("deleted", false) != deleted) continue;
        items.push_back(item);
      }
      return Paged(url, items, query, false);
    }
    if (s[0] == "solutions") return Solutions(url, s, query);
    ++counts["other"];
    return NotFound();
  }

  net::HttpResponse Solutions(const std::string& url, const std::vector<std::string>& s,
                              const std::map<std::string, std::string>& query) {
    const size_t n = s.size();
    if (n == 2 && s[1] == "categories") return Paged(url, categories.get<std::vector<json>>(), query, false);
    if (n == 4 && s[1] == "categories" && s[3] == "folders") {
      std::vector<json> items;
      for (const auto& f : folders) {
        if (f["category_id"] == std::stoll(s[2]) && f["parent_folder_id"].is_null()) items.push_back(f);
      }
      return Paged(url, items, query, false);
    }
    if (n == 4 && s[1] == "folders" && s[3] == "subfolders") {
      std::vector<json> items;
      for (const auto& f : folders) {
        if (f["parent_folder_id"] == std::stoll(s[2])) items.push_back(f);
      }
      return Paged(url, items, query, false);
    }
    if ((n == 4 || n == 5) && s[1] == "folders" && s[3] == "articles") {
      const std::string language = n == 5 ? s[4] : settings["primary_language"].get<std::string>();
      if (!articles.count(language)) return (++counts["list"], NotFound());
      std::vector<json> items;
      for (const auto& a : articles[language]) {
        if (a["folder_id"] == std::stoll(s[2])) items.push_back(a);
      }
      return Paged(url, items, query, false);
    }
    if ((n == 3 || n == 4) && s[1] == "articles") {
      ++counts["view"];
      const std::string language = n == 4 ? s[3] : settings["primary_language"].get<std::string>();
      for (const auto& a : articles[language]) {
        if (a["id"] == std::stoll(s[2])) return Reply(200, a);
      }
      return NotFound();
    }
    ++counts["other"];
    return NotFound();
  }
};

// A KnownRecords over committed batches: what a store would hold.
class MemoryKnownRecords : public KnownRecords {
 public:
  std::map<std::string, KnownRecord> records;

  void Apply(const Batch& batch) {
    for (const auto& id : batch.removed_ids) records.erase(id);
    for (const auto& r : batch.records) {
      KnownRecord k;
      k.id = r.id;
      k.updated_at = r.updated_at;
      k.state = r.metadata.value("state", r.status);
      k.parent_id = r.parent_id;
      records[r.id] = k;
    }
  }
  std::vector<std::string> IdsOfType(const std::string& type) const {
    std::vector<std::string> out;
    for (const auto& [id, r] : records) {
      if (Type(id) == type) out.push_back(id);
    }
    return out;
  }

  Result<std::vector<KnownRecord>> List(const std::string& type, const std::string& after_id, size_t limit) override {
    std::vector<KnownRecord> out;
    for (auto it = records.upper_bound(after_id); it != records.end() && out.size() < limit; ++it) {
      if (Type(it->first) == type) out.push_back(it->second);
    }
    return out;
  }
  Result<std::vector<KnownRecord>> Children(const std::string& parent_id) override {
    std::vector<KnownRecord> out;
    for (const auto& [id, r] : records) {
      if (r.parent_id == parent_id) out.push_back(r);
    }
    return out;
  }
  Result<std::vector<KnownRecord>> Lookup(const std::vector<std::string>& ids) override {
    std::vector<KnownRecord> out;
    for (const auto& id : ids) {
      if (auto it = records.find(id); it != records.end()) out.push_back(it->second);
    }
    return out;
  }

 private:
  // The type from a record id "{tenant}_freshdesk_{original}": "ticket" for a bare number, else the prefix
  // of the original id before '-'.
  static std::string Type(const std::string& id) {
    std::string original = id.substr(id.find("_freshdesk_") + 11);
    auto dash = original.find('-');
    if (dash == std::string::npos) return "ticket";
    return original.substr(0, dash);
  }
};

}  // namespace deskpipe::freshdesk::testing
