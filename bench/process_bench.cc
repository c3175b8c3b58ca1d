// bench_process: throughput of the processing stages on real text.
//
//   1. documents/s through normalize (Freshdesk mapping) + HTML → text + thread assembly (quote and signature
//      stripping) + chunking, on tickets built from ../shared/data: IBM Twitter customer-care threads and
//      Bitext question/answer pairs, dressed as Freshdesk API JSON (HTML bodies, agent replies quoting the
//      previous message in freshdesk_quote blockquotes, signatures). Token counting by the embedder's own
//      tokenizer (use-lite's SentencePiece by default).
//   2. OCR pages/s (tesseract on a rendered page of text) and PDF pages/s (poppler), in process and through
//      the isolated worker (what a sync pays per file, including the process start).
//
// Usage: bench_process [--data DIR] [--embedder use-lite|hashing] [--repeat N] [--ocr-pages N] [--pdf-pages
// N] Prints its figures; not run by ctest.
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "embed/embedder_factory.h"
#include "extract/extract.h"
#include "extract/parsers.h"
#include "extract/test_files.h"
#include "platforms/freshdesk/mapping.h"
#include "transforms/chunker.h"
#include "transforms/thread.h"

#include "csv.h"

namespace {

using deskpipe::Record;
using json = nlohmann::json;
using Clock = std::chrono::steady_clock;

double Seconds(Clock::time_point since) {
  return std::chrono::duration<double>(Clock::now() - since).count();
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
      case '"':
        out += "&quot;";
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
  std::string text;
};

// Freshdesk-shaped JSON for one ticket and its conversations.
struct RawTicket {
  json ticket;
  std::vector<json> conversations;
};

std::string Stamp(int minutes) {
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "2025-03-%02dT%02d:%02d:00Z", 1 + (minutes / 1440) % 28,
                (minutes / 60) % 24, minutes % 60);
  return buffer;
}

RawTicket MakeRawTicket(int64_t id, const std::vector<Turn>& turns) {
  static const std::string kSignature =
      "<div dir=\"ltr\"><p>Alex Smith<br>Support Engineer, Brightline "
      "Support<br>alex@brightline.example</p></div>";
  const int64_t requester = 5000 + id % 997;
  const int64_t agent = 9000 + id % 20;
  RawTicket raw;
  std::string subject = turns[0].text.substr(0, 70);
  for (char& c : subject) {
    if (c == '\n') c = ' ';
  }
  raw.ticket = {{"id", id},
                {"subject", subject},
                {"description", "<div>" + Escape(turns[0].text) + "</div>"},
                {"description_text", turns[0].text},
                {"status", 2 + id % 4},
                {"priority", 1 + id % 4},
                {"source", id % 3 == 0 ? 7 : 1},
                {"requester_id", requester},
                {"responder_id", agent},
                {"tags", json::array({"real-data"})},
                {"created_at", Stamp(static_cast<int>(id % 20000))},
                {"updated_at", Stamp(static_cast<int>(id % 20000) + 60)}};
  for (size_t i = 1; i < turns.size(); ++i) {
    std::string body = "<div>" + Escape(turns[i].text) + "</div>";
    if (turns[i].agent) {
      body +=
          "<div><br>Best regards,<br>Alex</div>" + kSignature +
          "<div class=\"freshdesk_quote\"><blockquote class=\"freshdesk_quote\">On Mon, 3 Mar 2025, customer "
          "wrote:<br>" +
          Escape(turns[i - 1].text) + "</blockquote></div>";
    }
    raw.conversations.push_back({{"id", id * 100 + static_cast<int64_t>(i)},
                                 {"body", body},
                                 {"body_text", turns[i].text},
                                 {"incoming", !turns[i].agent},
                                 {"private", false},
                                 {"source", 0},
                                 {"user_id", turns[i].agent ? agent : requester},
                                 {"created_at", Stamp(static_cast<int>(id % 20000) + static_cast<int>(i))},
                                 {"updated_at", Stamp(static_cast<int>(id % 20000) + static_cast<int>(i))}});
  }
  return raw;
}

std::vector<RawTicket> LoadTickets(const std::string& data_dir) {
  std::vector<RawTicket> tickets;
  int64_t id = 1;
  std::ifstream twitter_in(data_dir + "/ibm-twitter-customer-care/dev.json");
  if (twitter_in) {
    json dialogs = json::parse(twitter_in);
    for (const json& dialog : dialogs) {
      std::vector<Turn> turns;
      for (const json& t : dialog["dialogContent"]) {
        if (t.value("message", json()).is_string()) turns.push_back({t.contains("agent"), t["message"]});
      }
      if (dialog.contains("agentURL") && dialog["agentURL"].value("url_utterance", json()).is_string()) {
        turns.push_back({true, dialog["agentURL"]["url_utterance"]});
      }
      if (turns.size() >= 2 && !turns[0].agent) tickets.push_back(MakeRawTicket(id++, turns));
    }
  }
  for (const char* file : {"Bitext_Sample_Customer_Support_Training_Dataset_6480rows.csv",
                           "Bitext_Sample_Customer_Support_Training_Dataset_4514rows.csv"}) {
    auto rows = deskpipe::bench::ReadCsv(data_dir + "/bitext/" + file);
    if (rows.empty()) continue;
    const auto& header = rows[0];
    size_t question = header.size(), answer = header.size();
    for (size_t i = 0; i < header.size(); ++i) {
      if (header[i] == "instruction") question = i;
      if (header[i] == "response") answer = i;
    }
    for (size_t r = 1; r < rows.size(); ++r) {
      if (question >= rows[r].size() || answer >= rows[r].size()) continue;
      tickets.push_back(MakeRawTicket(id++, {{false, rows[r][question]}, {true, rows[r][answer]}}));
    }
  }
  return tickets;
}

struct Totals {
  int64_t documents = 0, chunks = 0, html_bytes = 0, rejected = 0;
};

Totals ProcessAll(const std::vector<RawTicket>& tickets, const deskpipe::freshdesk::MappingContext& context,
                  const deskpipe::transforms::TokenCounter& count, int max_tokens) {
  Totals totals;
  for (const RawTicket& raw : tickets) {
    std::vector<Record> records;
    auto ticket = deskpipe::freshdesk::MapTicket(raw.ticket, context);
    if (!ticket) {
      ++totals.rejected;
      continue;
    }
    totals.html_bytes += static_cast<int64_t>(ticket->content.size());
    records.push_back(std::move(*ticket));
    for (const json& c : raw.conversations) {
      auto conversation = deskpipe::freshdesk::MapConversation(c, records[0], context);
      if (!conversation) {
        ++totals.rejected;
        continue;
      }
      totals.html_bytes += static_cast<int64_t>(conversation->content.size());
      records.push_back(std::move(*conversation));
    }
    for (Record& record : records) {
      if (!deskpipe::transforms::ConvertRecordContent(record)) ++totals.rejected;
    }
    for (deskpipe::Document& document : deskpipe::transforms::BuildDocuments(records)) {
      deskpipe::transforms::ChunkDocument(document, {.max_tokens = max_tokens, .overlap_tokens = 16}, count);
      ++totals.documents;
      totals.chunks += static_cast<int64_t>(document.chunks.size());
    }
  }
  return totals;
}

template <typename F>
void TimeExtraction(const char* what, int pages_per_file, int files, F&& extract_one) {
  const auto start = Clock::now();
  size_t text_bytes = 0;
  for (int i = 0; i < files; ++i) text_bytes += extract_one();
  const double seconds = Seconds(start);
  std::printf("  %-34s %7.2f pages/s  (%d files × %d pages in %.2f s, %zu bytes of text)\n", what,
              files * pages_per_file / seconds, files, pages_per_file, seconds, text_bytes);
}

}  // namespace

int main(int argc, char** argv) {
  std::string data_dir = DESKPIPE_SHARED_DATA_DIR;
  std::string embedder_name = "use-lite";
  int repeat = 3, ocr_pages = 4, pdf_pages = 200;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string flag = argv[i];
    if (flag == "--data")
      data_dir = argv[i + 1];
    else if (flag == "--embedder")
      embedder_name = argv[i + 1];
    else if (flag == "--repeat")
      repeat = std::atoi(argv[i + 1]);
    else if (flag == "--ocr-pages")
      ocr_pages = std::atoi(argv[i + 1]);
    else if (flag == "--pdf-pages")
      pdf_pages = std::atoi(argv[i + 1]);
  }

  // 1. Documents.
  std::vector<RawTicket> tickets = LoadTickets(data_dir);
  if (tickets.empty()) {
    std::fprintf(stderr, "no data under %s (pass --data DIR)\n", data_dir.c_str());
    return 1;
  }
  auto embedder = deskpipe::MakeEmbedder(embedder_name);
  if (!embedder) {
    std::fprintf(stderr, "embedder %s: %s; counting with hashing\n", embedder_name.c_str(),
                 embedder.error().ToString().c_str());
    embedder_name = "hashing";
    embedder = deskpipe::MakeEmbedder(embedder_name);
    if (!embedder) return 1;
  }
  const deskpipe::Embedder& model = **embedder;
  deskpipe::freshdesk::MappingContext context;
  context.tenant_id = "bench";
  context.portal_url = "https://bench.freshdesk.com";
  context.agent_names = {{9000, "Alex Smith"}};
  int64_t messages = 1;
  for (const RawTicket& t : tickets) messages += static_cast<int64_t>(t.conversations.size()) + 1;
  std::printf("bench_process: %zu tickets (%lld messages) from %s\n", tickets.size(),
              static_cast<long long>(messages), data_dir.c_str());
  const int max_tokens = model.max_tokens() > 0 ? model.max_tokens() : 128;
  struct Counter {
    const char* name;
    deskpipe::transforms::TokenCounter count;
  } counters[] = {
      {"word counter", [](std::string_view s) { return deskpipe::transforms::CountWordTokens(s); }},
      {embedder_name.c_str(), [&model](std::string_view s) { return model.CountTokens(std::string(s)); }},
  };
  for (const Counter& counter : counters) {
    Totals totals;
    double best = 1e30;
    for (int r = 0; r < repeat; ++r) {
      const auto start = Clock::now();
      totals = ProcessAll(tickets, context, counter.count, max_tokens);
      best = std::min(best, Seconds(start));
    }
    std::printf(
        "  normalize+html+thread+chunk, %-14s %8.0f documents/s  %7.0f chunks/s  %6.1f MB/s of HTML  "
        "(%lld documents, %lld chunks ≤ %d tokens, %lld rejected; best of %d: %.3f s)\n",
        counter.name, totals.documents / best, totals.chunks / best, totals.html_bytes / best / 1e6,
        static_cast<long long>(totals.documents), static_cast<long long>(totals.chunks), max_tokens,
        static_cast<long long>(totals.rejected), repeat, best);
  }

  // 2. Attachments: real text from the Bitext answers on every page.
  std::vector<std::string> lines;
  for (const RawTicket& t : tickets) {
    for (const json& c : t.conversations) {
      std::string text = c["body_text"].get<std::string>();
      for (size_t pos = 0; pos < text.size() && lines.size() < 2000; pos += 80) {
        std::string line = text.substr(pos, 80);
        for (char& ch : line) {
          if (ch == '\n' || static_cast<unsigned char>(ch) >= 0x80) ch = ' ';
        }
        lines.push_back(line);
      }
    }
  }
  auto page_lines = [&](int page, int count) {
    std::vector<std::string> out;
    for (int i = 0; i < count; ++i)
      out.push_back(lines[static_cast<size_t>(page * count + i) % lines.size()]);
    return out;
  };
  std::vector<std::vector<std::string>> pdf_content;
  for (int p = 0; p < pdf_pages; ++p) pdf_content.push_back(page_lines(p, 40));
  const std::string pdf = deskpipe::extract::testing::MakePdf(pdf_content);
  std::vector<std::string> ocr_upper;
  for (std::string line : page_lines(0, 25)) ocr_upper.push_back(line.substr(0, 60));
  const std::string png = deskpipe::extract::testing::MakeTextPng(ocr_upper);

  deskpipe::extract::ExtractLimits limits;
  limits.max_pdf_pages = std::max(pdf_pages, limits.max_pdf_pages);
  std::printf("attachments (PDF %d pages of 40 lines, %zu bytes; PNG page of 25 lines, %zu bytes):\n",
              pdf_pages, pdf.size(), png.size());
  TimeExtraction("PDF, poppler in process", pdf_pages, 3, [&] {
    auto text = deskpipe::extract::ExtractPdf(pdf, limits);
    return text ? text->size() : 0;
  });
  TimeExtraction("OCR, tesseract in process", 1, ocr_pages, [&] {
    auto text = deskpipe::extract::ExtractImage(png, limits);
    return text ? text->size() : 0;
  });
  auto extractor = deskpipe::extract::Extractor::Create(limits);
  if (!extractor) {
    std::fprintf(stderr, "%s\n", extractor.error().ToString().c_str());
    return 1;
  }
  TimeExtraction("PDF, isolated worker", pdf_pages, 3,
                 [&] { return extractor->Extract(pdf, "bench.pdf").text.size(); });
  TimeExtraction("OCR, isolated worker", 1, ocr_pages,
                 [&] { return extractor->Extract(png, "bench.png").text.size(); });
  const std::string small_pdf = deskpipe::extract::testing::MakePdf({page_lines(0, 40)});
  TimeExtraction("1-page PDF, isolated worker", 1, 20,
                 [&] { return extractor->Extract(small_pdf, "one.pdf").text.size(); });
  return 0;
}
